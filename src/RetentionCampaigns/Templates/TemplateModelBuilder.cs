using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Referrals;

namespace RetentionCampaigns.Templates;

/// <summary>A customer's template model plus what decides how their links are built.</summary>
public sealed record Recipient(long CustomerId, string Email, string TimeZone, TemplateModel Model, bool TracksClicks);

/// <summary>
/// Builds template models for customers from the database, a batch at a time (one query per table, not per
/// customer): profile, metrics, favourite category (most items bought), the lawful basis behind their
/// marketing consent (it decides the footer's "why") and whether clicks may be tracked.
/// </summary>
public sealed class TemplateModelBuilder(RetentionDb db, LinkBuilder links, IOptions<ShopOptions> shopOptions, TimeProvider clock)
{
    /// <param name="consent">The customers' current consent states, when the caller has read them already.</param>
    /// <param name="templateLocales">The languages the template has: the customer's is used when it is among them,
    /// else <paramref name="fallbackLocale"/> (the campaign's default), else the template's first.</param>
    public async Task<Dictionary<long, Recipient>> BuildAsync(IReadOnlyCollection<long> customerIds, IReadOnlyCollection<string> templateLocales,
        string? fallbackLocale, CampaignView? campaign, OfferView? offer, CancellationToken ct,
        IReadOnlyDictionary<long, IReadOnlyDictionary<string, ConsentState>>? consent = null, bool referralLinks = false)
    {
        var shop = shopOptions.Value;
        var customers = await db.Customers.AsNoTracking().Where(c => customerIds.Contains(c.Id)).ToListAsync(ct);
        var metrics = await db.CustomerMetrics.AsNoTracking().Where(m => customerIds.Contains(m.CustomerId)).ToDictionaryAsync(m => m.CustomerId, ct);
        var categories = (await (
                from line in db.OrderLines
                join order in db.Orders on line.OrderId equals order.Id
                where customerIds.Contains(order.CustomerId) && line.Category != null
                group line by new { order.CustomerId, line.Category } into g
                select new { g.Key.CustomerId, g.Key.Category, Items = g.Sum(l => l.Quantity) })
            .ToListAsync(ct))
            .GroupBy(x => x.CustomerId)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(x => x.Items).ThenBy(x => x.Category, StringComparer.Ordinal).First().Category!);
        consent ??= await ConsentApi.CurrentStatesAsync(db, customerIds, ct); // the caller's, when it already has them
        // Codes are made on first use: only for a template that shows the referral link, and for those who take part.
        var referralCodes = referralLinks
            ? await ReferralCodes.EnsureAsync(db, customers.Where(c => ReferralEligibility.TakesPart(consent[c.Id], c.ErasedAt != null)).Select(c => c.Id).ToList(),
                clock.GetUtcNow().UtcDateTime, ct)
            : [];
        long? campaignId = long.TryParse(campaign?.Key, out var key) ? key : null;

        var sender = new SenderView { Name = shop.Name, Email = shop.SenderEmail, PostalAddress = shop.PostalAddress };
        var result = new Dictionary<long, Recipient>(customers.Count);
        foreach (var customer in customers)
        {
            var locale = ChooseLocale(customer.Locale, templateLocales, fallbackLocale ?? shop.DefaultLocale);
            var format = LocaleFormat.For(locale);
            metrics.TryGetValue(customer.Id, out var m);
            var basis = consent[customer.Id]["email_marketing"].LawfulBasis;
            var tracks = consent[customer.Id]["tracking"].Status == "granted";
            var model = new TemplateModel
            {
                Customer = View(customer, locale, format),
                Metrics = m is null ? new MetricsView() : new MetricsView
                {
                    RecencyDays = m.RecencyDays, LastOrderAt = m.LastOrderAt, OrderCount = m.OrderCount,
                    FavouriteCategory = categories.GetValueOrDefault(customer.Id), RfmGroup = m.RfmGroup, NpsCategory = m.NpsCategory,
                },
                Offer = offer,
                Links = new LinksView
                {
                    Unsubscribe = links.Unsubscribe(customer.Id),
                    Preferences = links.Preferences(customer.Id),
                    Referral = referralCodes.TryGetValue(customer.Id, out var code) ? links.Referral(code, campaignId) : null,
                    Shop = shop.Website,
                    Survey = shop.SurveyUrl,
                },
                Campaign = campaign ?? new CampaignView(),
                Sender = sender,
                Reason = format.Reason(shop.Name, basis),
            };
            result[customer.Id] = new Recipient(customer.Id, customer.Email, customer.TimeZone, model, tracks);
        }
        return result;
    }

    public static string ChooseLocale(string customerLocale, IReadOnlyCollection<string> templateLocales, string fallback) =>
        templateLocales.Contains(customerLocale) ? customerLocale
        : templateLocales.Contains(fallback) ? fallback
        : templateLocales.Order(StringComparer.Ordinal).FirstOrDefault() ?? fallback;

    static CustomerView View(Customer customer, string locale, LocaleFormat format) => new()
    {
        FirstName = NullIfEmpty(customer.FirstName),
        LastName = NullIfEmpty(customer.LastName),
        Greeting = format.Greeting(customer.FirstName),
        Email = customer.Email,
        Locale = locale,
        Country = NullIfEmpty(customer.Country),
        Attributes = customer.Attributes.ToDictionary(a => a.Key, a => a.Value.ValueKind switch
        {
            JsonValueKind.String => NullIfEmpty(a.Value.GetString()),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => a.Value.GetRawText(),
        }),
    };

    // Scriban counts empty text as true: unknown is null, so {{ if customer.first_name }} means what it says.
    static string? NullIfEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    /// <summary>
    /// The model for a preview or a test email: a real customer's (by external id) or, without one, the sample
    /// customer in the requested or a template language, both from the configured shop and with test links: their
    /// pages show what the customer would see and change nothing (a test email must not unsubscribe anyone).
    /// With a campaign, its name and its offer (or none); else the sample offer. Null when the customer is unknown.
    /// </summary>
    public async Task<(TemplateModel Model, Func<string, string>? Tracker)?> ForPreviewAsync(IReadOnlyDictionary<string, TemplateContent> content,
        string? customerExternalId, string? locale, CancellationToken ct, Campaigns.CampaignPreview? campaign = null)
    {
        var shop = shopOptions.Value;
        var templateLocales = content.Keys.ToList();
        if (customerExternalId is null)
        {
            var chosen = locale ?? ChooseLocale(shop.DefaultLocale, templateLocales, shop.DefaultLocale);
            var sample = SampleModels.For(chosen);
            // The sample customer has no row: id 0 in its test links, whose pages show the sample's view.
            return (sample with
            {
                // A campaign's preview shows its offer, or none; without a campaign, the sample offer shows the coupon block.
                Offer = campaign is null ? sample.Offer : campaign.Offer,
                Campaign = campaign?.View ?? sample.Campaign,
                Links = TestLinks(0, sample.Links with { Shop = shop.Website, Survey = shop.SurveyUrl }, "SAMPLE"),
                Sender = new SenderView { Name = shop.Name, Email = shop.SenderEmail, PostalAddress = shop.PostalAddress },
                Reason = LocaleFormat.For(chosen).Reason(shop.Name, "consent"),
            }, target => links.Click(0, target, test: true));
        }
        var id = await db.Customers.Where(c => c.ExternalId == customerExternalId).Select(c => (long?)c.Id).FirstOrDefaultAsync(ct);
        if (id is null) return null;
        var recipient = (await BuildAsync([id.Value], locale is null ? templateLocales : [locale], locale, campaign?.View,
            campaign is null ? SampleModels.For("de").Offer : campaign.Offer, ct,
            referralLinks: UsesReferralLink(content.Values)))[id.Value];
        var code = recipient.Model.Links.Referral is null ? null
            : await db.ReferralCodes.Where(c => c.CustomerId == id.Value).Select(c => c.Code).FirstOrDefaultAsync(ct);
        var model = recipient.Model with { Links = TestLinks(id.Value, recipient.Model.Links, code) };
        return (model, recipient.TracksClicks ? target => links.Click(id.Value, target, test: true) : null);
    }

    LinksView TestLinks(long customerId, LinksView real, string? referralCode) => real with
    {
        Unsubscribe = links.Unsubscribe(customerId, test: true),
        Preferences = links.Preferences(customerId, test: true),
        Referral = referralCode is null ? null : links.Referral(referralCode, test: true),
    };

    /// <summary>Whether the template shows the customer's referral link (so their code must exist).</summary>
    public static bool UsesReferralLink(IEnumerable<TemplateContent> content) =>
        content.Any(c => new[] { c.Subject, c.Html, c.Text ?? "" }.Any(part => part.Contains("links.referral", StringComparison.Ordinal)
                                                                          || part.Contains("referral_url", StringComparison.Ordinal)));

    /// <summary>Tracked links go through /c/{token} only with the customer's tracking consent (DOMAIN.md).</summary>
    public Func<string, string>? ClickTracker(Recipient recipient) =>
        recipient.TracksClicks ? target => links.Click(recipient.CustomerId, target) : null;
}
