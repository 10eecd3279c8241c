using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Mailing;

public sealed record TestSendResult(string MessageId, string To, string Template, int Version, string Locale, string? CustomerId, string Transport, string Reply);

/// <summary>
/// A template's test email to a marketer's own address: rendered for a real customer or the sample customer, with
/// the headers a campaign message carries (List-Unsubscribe with one-click), its subject marked "[Test]".
/// </summary>
public sealed class TestSend(RetentionDb db, TemplateEngine engine, TemplateModelBuilder models, IMailTransport transport,
    IOptions<ShopOptions> shop, TimeProvider clock)
{
    public sealed class Refused(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
        public int Status { get; init; } = 400;
    }

    public async Task<TestSendResult> SendAsync(string templateKey, string to, string? customerId, string? locale, CancellationToken ct, long? campaignId = null)
    {
        if (!EmailAddress.TryParse(to, null, out var recipientAddress, out var addressError)) throw new Refused("to", addressError!);
        var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == templateKey, ct)
                       ?? throw new Refused("template", $"No template has the key '{templateKey}'.") { Status = 404 };
        var version = await db.TemplateVersions.AsNoTracking().FirstAsync(v => v.TemplateId == template.Id && v.Version == template.Version, ct);
        if (!version.Valid)
            throw new Refused("template", $"Version {version.Version} of '{templateKey}' has errors; fix them before sending it: "
                + string.Join("; ", version.Problems.Where(p => p.Severity == TemplateFinding.Error).Take(3).Select(p => p.Message))) { Status = 422 };
        if (locale is not null && !version.Content.ContainsKey(locale))
            throw new Refused("locale", $"The template has no '{locale}' version; it has: {string.Join(", ", version.Content.Keys.Order())}.");

        Campaigns.CampaignPreview? campaign = null;
        if (campaignId is { } id)
            campaign = await Campaigns.CampaignPreview.ForAsync(db, id, shop.Value, clock.GetUtcNow().UtcDateTime, ct)
                       ?? throw new Refused("campaignId", $"No campaign has the id {id}.") { Status = 404 };
        var (model, tracker) = await models.ForPreviewAsync(version.Content, customerId, locale, ct, campaign)
                               ?? throw new Refused("customerId", $"No customer has the external id '{customerId}'.") { Status = 404 };
        var rendered = engine.Render(version.Content[model.Customer.Locale], model, tracker);
        if (template.Kind == TemplateKinds.Marketing && LegalFooter.Missing(rendered, model) is { } missing)
            throw new Refused("template", missing) { Status = 422 };
        var message = new OutgoingMessage
        {
            Frame = new MessageFrame(EmailAddress.Parse(shop.Value.SenderEmail, shop.Value.Name)),
            To = [recipientAddress!],
            Subject = "[Test] " + rendered.Subject,
            TextBody = rendered.Text,
            HtmlBody = rendered.Html,
            Date = clock.GetUtcNow(),
            UnsubscribeUrl = template.Kind == TemplateKinds.Marketing ? model.Links.Unsubscribe : null,
            Headers = [new("X-RC-Template", $"{template.Key} v{version.Version} {model.Customer.Locale}")],
        };
        var result = await transport.SendAsync(message, ct);
        if (result.Outcome != SendOutcome.Accepted)
            throw new Refused("to", $"The transport did not accept the message ({result.Outcome}): {result.Reply}") { Status = 502 };
        return new TestSendResult(result.MessageId, recipientAddress!.Address, template.Key, version.Version, model.Customer.Locale, customerId,
            transport.Description, result.Reply ?? "accepted");
    }
}
