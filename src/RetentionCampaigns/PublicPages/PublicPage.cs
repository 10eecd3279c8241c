using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using RetentionCampaigns.Links;

namespace RetentionCampaigns.PublicPages;

/// <summary>
/// The pages customers reach from our emails: server-rendered, one small inline style sheet, no script, German or
/// English. Every page goes through <see cref="Render"/>, so headings, language and the security headers
/// (set by <see cref="PublicEndpoints"/>) are the same everywhere.
/// </summary>
public static class PublicPage
{
    const string StyleSheet =
        "body{margin:0;background:#f4f4f5;color:#18181b;font:17px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}" +
        "main{max-width:36rem;margin:2rem auto;padding:2rem;background:#fff;border-radius:8px}" +
        ".shop{margin:0 0 1rem;color:#52525b;font-weight:600}h1{font-size:1.6rem;line-height:1.25;margin:0 0 1rem}" +
        "fieldset{border:1px solid #d4d4d8;border-radius:6px;margin:0 0 1.25rem;padding:.75rem 1rem}legend{font-weight:600;padding:0 .25rem}" +
        "label{display:block;padding:.3rem 0}input[type=checkbox],input[type=radio]{width:1.15rem;height:1.15rem;margin-right:.5rem;vertical-align:-.15rem}" +
        "button{font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:6px;background:#0f766e;color:#fff;cursor:pointer}" +
        "button.secondary{background:#fff;color:#0f766e;border:2px solid #0f766e}" +
        "a.button{display:inline-block;font-weight:600;padding:.7rem 1.4rem;border-radius:6px;background:#0f766e;color:#fff;text-decoration:none}" +
        "button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}" +
        "a{color:#0f5e57}.note{color:#52525b;font-size:.95rem}.done{border-left:4px solid #0f766e;padding-left:.75rem}" +
        "form+form{margin-top:1.5rem}";

    /// <summary>The style sheet is allowed by its hash, so the policy can forbid every other inline style and all script.</summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(StyleSheet)))}'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IResult Render(int status, string locale, string shopName, string title, string body)
    {
        var html = new StringBuilder(2048)
            .Append("<!DOCTYPE html>\n<html lang=\"").Append(locale).Append("\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex, nofollow\">")
            .Append("<title>").Append(Encode(title)).Append(" – ").Append(Encode(shopName)).Append("</title><style>").Append(StyleSheet).Append("</style></head>")
            .Append("<body><main><p class=\"shop\">").Append(Encode(shopName)).Append("</p><h1>").Append(Encode(title)).Append("</h1>")
            .Append(body).Append("</main></body></html>");
        return Results.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    // Umlauts and other letters stay readable in the UTF-8 source; markup characters are still escaped.
    static readonly HtmlEncoder Encoder = HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    public static string Encode(string text) => Encoder.Encode(text);

    /// <summary>The note on a page reached through a test link; empty for a real one.</summary>
    public static string TestNote(bool test, PageText text) => test ? $"<p class=\"note\" role=\"note\"><strong>{Encode(text.TestLink)}</strong></p>" : "";

    /// <summary>The answer to a test link's action (unsubscribe, save preferences): nothing was changed.</summary>
    public static IResult TestActionDone(PageText text, string shopName, string title) =>
        Render(200, text.Locale, shopName, title, $"<p class=\"done\" role=\"status\">{Encode(text.TestNothingChanged)}</p>");

    /// <summary>
    /// A link that does not verify: not valid (400) or expired (410), in the visitor's language as their browser
    /// states it, with a way forward: an expired confirmation link offers a fresh one by email; every page names
    /// the shop's address to write to.
    /// </summary>
    public static IResult BadLink(HttpContext http, TokenFailure failure, ShopOptions shop, LinkPurpose? purpose = null)
    {
        var text = PageText.For(PreferredLocale(http, shop.DefaultLocale));
        return failure == TokenFailure.Expired
            ? Render(410, text.Locale, shop.Name, text.LinkExpiredTitle,
                $"<p>{Encode(text.LinkExpired)}</p>{(purpose == LinkPurpose.Confirm ? NewLinkForm(text) : "")}{Contact(text, shop)}")
            : Render(400, text.Locale, shop.Name, text.LinkInvalidTitle, $"<p>{Encode(text.LinkInvalid)}</p>{Contact(text, shop)}");
    }

    /// <summary>A link whose customer is gone, or an address under a public path that is no link at all: a page, never JSON.</summary>
    public static IResult NotFound(HttpContext http, ShopOptions shop)
    {
        var text = PageText.For(PreferredLocale(http, shop.DefaultLocale));
        return Render(404, text.Locale, shop.Name, text.LinkInvalidTitle, $"<p>{Encode(text.LinkInvalid)}</p>{Contact(text, shop)}");
    }

    /// <summary>Asks for a fresh confirmation link (the sign-up form: it answers the same whether or not a mail goes out).</summary>
    public static string NewLinkForm(PageText text) =>
        $"<form method=\"post\" action=\"/signup\"><label>{Encode(text.EmailLabel)}<br><input type=\"email\" name=\"email\" required autocomplete=\"email\"></label>" +
        $"<button type=\"submit\">{Encode(text.NewLinkButton)}</button></form>";

    public static string Contact(PageText text, ShopOptions shop) =>
        $"<p class=\"note\">{Encode(string.Format(System.Globalization.CultureInfo.InvariantCulture, text.ContactUs, shop.Name))} " +
        $"<a href=\"mailto:{Encode(shop.SenderEmail)}\">{Encode(shop.SenderEmail)}</a></p>";

    /// <summary>German or English from the Accept-Language header (first supported wins), else the shop's language.</summary>
    public static string PreferredLocale(HttpContext http, string defaultLocale)
    {
        foreach (var language in http.Request.GetTypedHeaders().AcceptLanguage.OrderByDescending(l => l.Quality ?? 1))
        {
            var tag = language.Value.Value ?? "";
            if (tag.StartsWith("de", StringComparison.OrdinalIgnoreCase)) return "de";
            if (tag.StartsWith("en", StringComparison.OrdinalIgnoreCase)) return "en";
        }
        return defaultLocale == "en" ? "en" : "de";
    }

    /// <summary>"a***@example.com": enough for the owner to recognise, little for anyone the link was forwarded to.</summary>
    public static string MaskEmail(string email)
    {
        var at = email.IndexOf('@');
        return at <= 0 ? "***" : email[0] + "***" + email[at..];
    }
}

/// <summary>Section <c>PublicPages</c>.</summary>
public sealed class PublicPageOptions
{
    /// <summary>Requests per minute one address may make to the public pages (one-click unsubscribes with a valid link are not counted).</summary>
    public int RequestsPerMinute { get; set; } = 120;
    /// <summary>Links that do not verify per minute from one address before it is refused (429) for the rest of the minute.</summary>
    public int BadLinksPerMinute { get; set; } = 20;
    /// <summary>The version of the consent text shown on the sign-up form and the preference centre, recorded with every grant.</summary>
    public string ConsentTextVersion { get; set; } = "2026-01";
    /// <summary>Sign-ups one address may post per hour (each sends an email, so this guards others' inboxes too).</summary>
    public int SignupsPerHour { get; set; } = 10;
}
