using Microsoft.Extensions.Options;
using RetentionCampaigns.Bounces;
using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Mailing;

/// <summary>Section <c>Mail</c>: which transport sends, the pickup folder, and the SMTP server (<c>Mail:Smtp</c>).</summary>
public sealed class MailOptions
{
    public const string Pickup = "Pickup", Smtp = "Smtp";

    /// <summary><c>Pickup</c> (the embedded default) writes .eml files to <see cref="PickupDirectory"/>; <c>Smtp</c> submits to <c>Mail:Smtp</c>.</summary>
    public string Transport { get; set; } = Pickup;
    public string PickupDirectory { get; set; } = "outbox";
}

sealed class DkimSettingsCheck : IValidateOptions<DkimOptions>
{
    public ValidateOptionsResult Validate(string? name, DkimOptions options) =>
        options.Enabled && DkimSigning.ConfigurationProblem(options) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}

/// <summary>The DKIM signer when <c>Mail:Dkim</c> is configured (its key is loaded once, at start).</summary>
public sealed record MailSigning(DkimSigning? Dkim);

public static class MailSetup
{
    public static IServiceCollection AddMail(this IServiceCollection services)
    {
        services.AddOptions<MailOptions>().BindConfiguration("Mail")
            .Validate(o => o.Transport is MailOptions.Pickup or MailOptions.Smtp, "Mail:Transport must be Pickup or Smtp.")
            .ValidateOnStart();
        services.AddOptions<SmtpOptions>().BindConfiguration("Mail:Smtp")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Host), "Mail:Smtp:Host is required.")
            .Validate(o => o.Port is > 0 and < 65536, "Mail:Smtp:Port must be a TCP port (1-65535).")
            .Validate(o => o.PoolSize is > 0 and <= 64, "Mail:Smtp:PoolSize must be between 1 and 64.")
            .Validate(o => o.Password is null || o.UserName is not null, "Mail:Smtp:Password needs Mail:Smtp:UserName.");
        services.AddOptions<SmtpOptions>().BindConfiguration("Mail:Smtp")
            .Validate(o => o.AccessToken is null || o.UserName is not null, "Mail:Smtp:AccessToken (XOAUTH2) needs Mail:Smtp:UserName.");
        // The signer's own checks, at start rather than at the first message.
        services.AddOptions<DkimOptions>().BindConfiguration("Mail:Dkim").ValidateOnStart();
        services.AddSingleton<IValidateOptions<DkimOptions>, DkimSettingsCheck>();
        services.AddOptions<BounceOptions>().BindConfiguration("Mail:Bounces")
            .Validate(o => o.Domain is null || EmailAddress.TryParse($"{o.LocalPart}+1.1.000000000000@{o.Domain}", null, out _, out _),
                "Mail:Bounces:Domain and LocalPart must make a valid address (e.g. bounces+...@bounces.shop.example).")
            .Validate(o => o.PollInterval >= TimeSpan.FromSeconds(10), "Mail:Bounces:PollInterval must be at least 10 seconds.")
            .ValidateOnStart();
        services.AddSingleton(provider =>
        {
            var dkim = provider.GetRequiredService<IOptions<DkimOptions>>().Value;
            return new MailSigning(dkim.Enabled ? DkimSigning.Load(dkim) : null);
        });
        services.AddSingleton<IMailTransport>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<MailOptions>>().Value;
            var dkim = provider.GetRequiredService<MailSigning>().Dkim;
            return options.Transport == MailOptions.Smtp
                ? new SmtpTransport(provider.GetRequiredService<IOptions<SmtpOptions>>().Value, dkim)
                : new PickupTransport(options.PickupDirectory, provider.GetRequiredService<TimeProvider>(), dkim);
        });
        services.AddSingleton<ReturnPaths>();
        services.AddScoped<BounceInbox>();
        services.AddScoped<TestSend>();
        return services;
    }
}
