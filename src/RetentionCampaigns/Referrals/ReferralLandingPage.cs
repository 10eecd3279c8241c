using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.PublicPages;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Referrals;

/// <summary>
/// <c>/r/{code}</c>, where a referred friend lands: the friend's offer of the active program, a first-party cookie
/// that remembers the code (and the campaign that carried it) for the shop's sign-up and checkout, and the visit
/// recorded (code, campaign and time only). An unknown code gets a friendly 404 that reveals nothing and counts
/// against the client's bad-link budget, so guessing codes is refused after a few tries.
/// </summary>
public static class ReferralLandingPage
{
    public const string CookieName = "rc_ref";

    public static void MapReferralLandingPage(this RouteGroupBuilder pages) => pages.MapGet("/r/{code}", ShowAsync);

    /// <param name="test">A test email's or a preview's link: the page as a friend would see it, with no visit recorded and no cookie set;
    /// it looks the same for any code, so it tells a guesser nothing.</param>
    static async Task<IResult> ShowAsync(string code, long? c, string? test, HttpContext http, RetentionDb db, IOptions<ShopOptions> shopOptions,
        IOptions<ReferralOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var shop = shopOptions.Value;
        var text = PageText.For(PublicPage.PreferredLocale(http, shop.DefaultLocale));
        var normalized = code.ToUpperInvariant();
        var owner = ReferralCodes.IsWellFormed(normalized)
            ? await db.ReferralCodes.Where(r => r.Code == normalized).Select(r => (long?)r.CustomerId).FirstOrDefaultAsync(ct)
            : null;
        var known = owner is { } referrer && await ReferralEligibility.TakesPartAsync(db, referrer, ct);
        string ShopLink(string href) =>
            $"<p><a class=\"button\" href=\"{PublicPage.Encode(href)}\">{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.ReferralButton, shop.Name))}</a></p>";
        if (test == "1")
        {
            var preview = await db.ReferralPrograms.AsNoTracking().FirstOrDefaultAsync(p => p.Active, ct);
            return PublicPage.Render(200, text.Locale, shop.Name, text.ReferralTitle,
                PublicPage.TestNote(true, text) + OfferBody(preview, text, shop) + ShopLink(shop.Website));
        }
        if (!known)
        {
            // A code that was real (its owner left the program) is no guess.
            if (owner is null) http.RequestServices.GetRequiredService<PublicRateLimits>().BadLink(PublicEndpoints.ClientAddress(http));
            return PublicPage.Render(404, text.Locale, shop.Name, text.ReferralUnknownTitle,
                $"<p>{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.ReferralUnknown, shop.Name))}</p>{ShopLink(shop.Website)}");
        }

        var campaignId = c is { } id && await db.Campaigns.AnyAsync(x => x.Id == id, ct) ? c : null;
        db.ReferralVisits.Add(new ReferralVisit { Code = normalized, CampaignId = campaignId, VisitedAt = clock.GetUtcNow().UtcDateTime });
        await db.SaveChangesAsync(ct);
        var reference = campaignId is { } campaign ? $"{normalized}.{campaign}" : normalized;
        http.Response.Cookies.Append(CookieName, reference, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, Path = "/", MaxAge = TimeSpan.FromDays(Math.Max(1, options.Value.CookieDays)),
        });

        var program = await db.ReferralPrograms.AsNoTracking().FirstOrDefaultAsync(p => p.Active, ct);
        // The cookie is first-party to this host; a shop on another host gets the same value in its link.
        var toShop = shop.Website + (shop.Website.Contains('?') ? "&" : "?") + $"{CookieName}={Uri.EscapeDataString(reference)}";
        return PublicPage.Render(200, text.Locale, shop.Name, text.ReferralTitle, OfferBody(program, text, shop) + ShopLink(toShop));
    }

    static string OfferBody(ReferralProgram? program, PageText text, ShopOptions shop)
    {
        var body = $"<p>{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.ReferralIntro, shop.Name))}</p>";
        if (program is null) return body;
        // The friend's voucher comes after their first qualifying order, for the next one: the page says it in that order.
        var qualifying = program.QualifyingMinimumMinor > 0
            ? string.Format(CultureInfo.InvariantCulture, text.ReferralQualifying, LocaleFormat.For(text.Locale).Money(Money.FromMinor(program.QualifyingMinimumMinor, shop.Currency)))
            : "";
        return body + $"<p class=\"done\">{PublicPage.Encode(OfferSentence(program.FriendOffer, text, shop.Currency))}</p>" +
               $"<p>{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.ReferralHowTo, qualifying))}</p>";
    }

    static string OfferSentence(CampaignOffer offer, PageText text, string currency)
    {
        var format = LocaleFormat.For(text.Locale);
        var worth = offer.Value is { } value ? format.Money(new Money(value, currency)) : string.Format(CultureInfo.InvariantCulture, text.ReferralPercent, offer.PercentOff);
        var sentence = string.Format(CultureInfo.InvariantCulture, text.ReferralOffer, worth);
        if (offer.MinimumOrder is { } minimum and > 0)
            sentence += string.Format(CultureInfo.InvariantCulture, text.ReferralMinimum, format.Money(new Money(minimum, currency)));
        return sentence + ".";
    }
}
