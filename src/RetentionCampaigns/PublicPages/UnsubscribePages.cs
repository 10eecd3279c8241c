using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.PublicPages;

/// <summary>
/// <c>/u/{token}</c>, the unsubscribe link of every marketing email (RFC 8058). A GET only shows a page with one
/// button, because link scanners follow GETs; the POST with the body <c>List-Unsubscribe=One-Click</c> (sent by the
/// button, or by a mailbox provider's own unsubscribe control) unsubscribes at once, without cookie, login or
/// confirmation, and answers 200.
/// </summary>
public static class UnsubscribePages
{
    const string OneClickBody = "List-Unsubscribe=One-Click";

    public static void MapUnsubscribePages(this RouteGroupBuilder pages)
    {
        pages.MapGet("/u/{token}", ShowAsync);
        pages.MapPost("/u/{token}", UnsubscribeAsync).WithMetadata(NotRateLimited.Instance);
    }

    static async Task<IResult> ShowAsync(string token, HttpContext http, RetentionDb db, LinkBuilder links, IOptions<ShopOptions> shop, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Unsubscribe, out var claims, out var failure)) return failure;
        var customer = await db.Customers.AsNoTracking().Where(c => c.Id == claims.CustomerId).Select(c => new { c.Email, c.Locale }).FirstOrDefaultAsync(ct);
        var text = PageText.For(customer?.Locale ?? PublicPage.PreferredLocale(http, shop.Value.DefaultLocale));
        // A test link shows the page a subscribed customer sees (the sample customer's, when it names none).
        var state = claims.Test ? "granted" : customer is null ? "withdrawn" : (await ConsentApi.CurrentStateAsync(db, claims.CustomerId, ct))["email_marketing"].Status;
        var preferences = $"<p class=\"note\">{PublicPage.Encode(text.OrChoosePreferences)} <a href=\"{PublicPage.Encode(links.Preferences(claims.CustomerId, claims.Test))}\">{PublicPage.Encode(text.PreferencesTitle)}</a></p>";
        if (state != "granted")
            return PublicPage.Render(200, text.Locale, shop.Value.Name, text.UnsubscribedTitle, $"<p class=\"done\">{PublicPage.Encode(text.AlreadyUnsubscribed)}</p>{preferences}");
        var question = string.Format(CultureInfo.InvariantCulture, text.UnsubscribeQuestion, shop.Value.Name, PublicPage.MaskEmail(customer?.Email ?? SampleModels.For(text.Locale).Customer.Email));
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.UnsubscribeTitle,
            $"{PublicPage.TestNote(claims.Test, text)}<p>{PublicPage.Encode(question)}</p><form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">" +
            $"<button type=\"submit\">{PublicPage.Encode(text.UnsubscribeButton)}</button></form>{preferences}");
    }

    static async Task<IResult> UnsubscribeAsync(string token, HttpContext http, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Unsubscribe, out var claims, out var failure)) return failure;
        if (!await IsOneClickAsync(http.Request, ct))
        {
            var locale = await db.Customers.Where(c => c.Id == claims.CustomerId).Select(c => c.Locale).FirstOrDefaultAsync(ct);
            var problem = PageText.For(locale ?? PublicPage.PreferredLocale(http, shop.Value.DefaultLocale));
            return PublicPage.Render(400, problem.Locale, shop.Value.Name, problem.BadRequestTitle, $"<p>{PublicPage.Encode(problem.UnsubscribeBodyMissing)}</p>");
        }
        if (claims.Test)
        {
            var locale = await db.Customers.Where(c => c.Id == claims.CustomerId).Select(c => c.Locale).FirstOrDefaultAsync(ct);
            var testText = PageText.For(locale ?? PublicPage.PreferredLocale(http, shop.Value.DefaultLocale));
            return PublicPage.TestActionDone(testText, shop.Value.Name, testText.UnsubscribedTitle);
        }
        // A customer deleted since the email went out has nothing left to unsubscribe: the answer is the same.
        var (recorded, customerLocale) = await ConsentLedger.WithdrawAsync(db, claims.CustomerId, "email_marketing",
            ConsentWitness.From(http, "unsubscribe_link"), clock.GetUtcNow().UtcDateTime, ct);
        var text = PageText.For(customerLocale ?? PublicPage.PreferredLocale(http, shop.Value.DefaultLocale));
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.UnsubscribedTitle,
            $"<p class=\"done\" role=\"status\">{PublicPage.Encode(recorded ? text.Unsubscribed : text.AlreadyUnsubscribed)}</p>");
    }

    /// <summary>The RFC 8058 body, as a form field (urlencoded or multipart) or, from a lax client, as the bare text.</summary>
    static async Task<bool> IsOneClickAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            return form["List-Unsubscribe"] == "One-Click";
        }
        using var reader = new StreamReader(request.Body);
        var body = new char[64];
        var read = await reader.ReadBlockAsync(body, ct);
        return new string(body, 0, read).Trim() == OneClickBody;
    }
}
