using Microsoft.Extensions.Options;
using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Mailing;

/// <summary>Section <c>Mail</c>: which transport sends, and where the pickup folder is.</summary>
public sealed class MailOptions
{
    /// <summary><c>Pickup</c> (the embedded default) writes .eml files to <see cref="PickupDirectory"/>.</summary>
    public string Transport { get; set; } = "Pickup";
    public string PickupDirectory { get; set; } = "outbox";
}

public static class MailSetup
{
    public static IServiceCollection AddMail(this IServiceCollection services)
    {
        services.AddOptions<MailOptions>().BindConfiguration("Mail")
            .Validate(o => o.Transport is "Pickup", "Mail:Transport must be Pickup: the SMTP transport is not part of this build yet.")
            .ValidateOnStart();
        services.AddSingleton<IMailTransport>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<MailOptions>>().Value;
            return new PickupTransport(options.PickupDirectory, provider.GetRequiredService<TimeProvider>());
        });
        services.AddScoped<TestSend>();
        return services;
    }
}
