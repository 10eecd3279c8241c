using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Hangfire;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Signups;

/// <summary>A sign-up form's address waiting for its owner's confirmation (migration 0014).</summary>
public sealed class Signup
{
    public long Id { get; set; }
    public required string Email { get; set; }
    public string? FirstName { get; set; }
    public required string Locale { get; set; }
    public string? Form { get; set; }
    public string? IpAddress { get; set; }
    public string? UserAgent { get; set; }
    public string? ConsentTextVersion { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? ConfirmedAt { get; set; }
    public long? CustomerId { get; set; }
}

/// <summary>Section <c>Consent</c>.</summary>
public sealed class SignupOptions
{
    /// <summary>Days a sign-up waits for confirmation before it and its link expire.</summary>
    public int PendingDays { get; set; } = 7;
    /// <summary>A repeated sign-up of an address within this time sends no second email (form resubmits, bots).</summary>
    public TimeSpan ResendAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The double opt-in email: the built-in (or the shop's edited) <c>double-opt-in</c> template, rendered for the
/// sign-up, sent at once through the mail transport. A service email: no unsubscribe link, since nothing was
/// subscribed yet.
/// </summary>
public sealed class ConfirmationMail(RetentionDb db, TemplateEngine engine, LinkBuilder links, IMailTransport transport,
    IOptions<ShopOptions> shopOptions, TimeProvider clock)
{
    public const string TemplateKey = "double-opt-in";

    public async Task<SendResult> SendAsync(Signup signup, CancellationToken ct)
    {
        var shop = shopOptions.Value;
        var version = await TemplateVersion.UsableAsync(db, TemplateKey, ct);
        var locale = TemplateModelBuilder.ChooseLocale(signup.Locale, version.Content.Keys, shop.DefaultLocale);
        var format = LocaleFormat.For(locale);
        var model = new TemplateModel
        {
            Customer = new CustomerView { FirstName = string.IsNullOrWhiteSpace(signup.FirstName) ? null : signup.FirstName.Trim(), Greeting = format.Greeting(signup.FirstName), Email = signup.Email, Locale = locale },
            Links = new LinksView { Unsubscribe = "", Preferences = "", Shop = shop.Website, Confirm = links.Confirm(signup.Id, signup.ExpiresAt) },
            Sender = new SenderView { Name = shop.Name, Email = shop.SenderEmail, PostalAddress = shop.PostalAddress },
            Reason = "",
        };
        var rendered = engine.Render(version.Content[locale], model);
        return await transport.SendAsync(new OutgoingMessage
        {
            Frame = new MessageFrame(EmailAddress.Parse(shop.SenderEmail, shop.Name)),
            To = [EmailAddress.Parse(signup.Email)],
            Subject = rendered.Subject,
            TextBody = rendered.Text,
            HtmlBody = rendered.Html,
            Date = clock.GetUtcNow(),
            Headers = [new("X-RC-Template", $"{TemplateKey} v{version.Version} {locale}"), new("Auto-Submitted", "auto-generated")],
        }, ct);
    }
}

/// <summary>Deletes sign-ups that were never confirmed once they expire: an unconfirmed address is not kept.</summary>
[AutomaticRetry(Attempts = 0)] // runs hourly anyway
public sealed class SignupExpiryJob(RetentionDb db, TimeProvider clock, ILogger<SignupExpiryJob> log)
{
    [System.ComponentModel.DisplayName("Delete expired sign-ups")]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var deleted = await db.Signups.Where(s => s.ConfirmedAt == null && s.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        if (deleted > 0) log.LogInformation("Deleted {Count} sign-ups that expired unconfirmed.", deleted);
    }
}
