using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Preferences;

namespace RetentionCampaigns.PublicPages;

/// <summary>
/// <c>/p/{token}</c>, the preference centre: the consent purposes, topics, how often, a pause of 30 or 90 days.
/// A plain form posted back to the same address; the signed link is the customer's key, so there is no login.
/// Consent changes go to the consent ledger (source <c>preference_page</c>), the rest to the customer's preferences.
/// </summary>
public static class PreferencePages
{
    static readonly string[] PauseChoices = ["keep", "none", "30", "90"];

    public static void MapPreferencePages(this RouteGroupBuilder pages)
    {
        pages.MapGet("/p/{token}", ShowAsync);
        pages.MapPost("/p/{token}", SaveAsync);
    }

    static async Task<IResult> ShowAsync(string token, HttpContext http, RetentionDb db, LinkBuilder links, IOptions<ShopOptions> shop,
        IOptions<PreferenceOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Preferences, out var claims, out var failure)) return failure;
        var customer = await db.Customers.AsNoTracking().Where(c => c.Id == claims.CustomerId && c.ErasedAt == null).Select(c => new { c.Email, c.Locale }).FirstOrDefaultAsync(ct);
        if (customer is null && claims.Test)
        {
            // The sample customer of a preview: the page a new subscriber sees.
            var sample = Templates.SampleModels.For(PublicPage.PreferredLocale(http, shop.Value.DefaultLocale)).Customer;
            customer = new { sample.Email, sample.Locale };
        }
        if (customer is null) return Gone(http, shop.Value);
        var text = PageText.For(customer.Locale);
        var consent = await ConsentApi.CurrentStateAsync(db, claims.CustomerId, ct);
        var preferences = await db.CustomerPreferences.AsNoTracking().FirstOrDefaultAsync(p => p.CustomerId == claims.CustomerId, ct) ?? new CustomerPreferences();
        var now = clock.GetUtcNow().UtcDateTime;

        var body = new StringBuilder();
        body.Append(PublicPage.TestNote(claims.Test, text));
        body.Append("<p>").Append(PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.PreferencesIntro, PublicPage.MaskEmail(customer.Email)))).Append("</p>");
        body.Append("<form method=\"post\">");
        Fieldset(body, text.PurposesLegend, ConsentVocabulary.Purposes.Select(p => Choice("checkbox", "purpose", p, text.Purposes[p], consent[p].Status == "granted")));
        Fieldset(body, text.TopicsLegend, options.Value.EffectiveTopics.Select(t => Choice("checkbox", "topic", t.Key, t.Label(text.Locale), !preferences.TopicsOptedOut.Contains(t.Key))));
        Fieldset(body, text.FrequencyLegend, Frequencies.All.Select(f => Choice("radio", "frequency", f, text.Frequencies[f], preferences.Frequency == f)));
        var paused = preferences.PausedUntil is { } until && until > now;
        var pauseNote = paused
            ? $"<p class=\"note\">{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.PausedUntil, preferences.PausedUntil!.Value.ToString(text.DateFormat, CultureInfo.GetCultureInfo(text.Locale))))}</p>"
            : "";
        Fieldset(body, text.PauseLegend, PauseChoices.Where(p => paused || p != "none").Select(p => Choice("radio", "pause", p, text.Pauses[p], p == "keep")), pauseNote);
        body.Append("<button type=\"submit\">").Append(PublicPage.Encode(text.SaveButton)).Append("</button></form>");
        body.Append("<form method=\"post\" action=\"").Append(PublicPage.Encode(new Uri(links.Unsubscribe(claims.CustomerId, claims.Test)).AbsolutePath)).Append("\">")
            .Append("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\" class=\"secondary\">")
            .Append(PublicPage.Encode(text.UnsubscribeAllButton)).Append("</button></form>");
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.PreferencesTitle, body.ToString());
    }

    static async Task<IResult> SaveAsync(string token, HttpContext http, RetentionDb db, IOptions<ShopOptions> shop, IOptions<PreferenceOptions> options,
        IOptions<PublicPageOptions> pageOptions, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Preferences, out var claims, out var failure)) return failure;
        var locale = await db.Customers.Where(c => c.Id == claims.CustomerId && c.ErasedAt == null).Select(c => c.Locale).FirstOrDefaultAsync(ct);
        if (claims.Test)
        {
            var testText = PageText.For(locale ?? PublicPage.PreferredLocale(http, shop.Value.DefaultLocale));
            return PublicPage.TestActionDone(testText, shop.Value.Name, testText.SavedTitle);
        }
        if (locale is null) return Gone(http, shop.Value);
        var text = PageText.For(locale);
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(ct) : FormCollection.Empty;

        var topics = options.Value.EffectiveTopics.Select(t => t.Key).ToList();
        var wrong = new List<string>();
        var purposes = form["purpose"].Select(p => p ?? "").ToList();
        wrong.AddRange(purposes.Where(p => !ConsentVocabulary.Purposes.Contains(p)).Select(p => $"purpose={p}"));
        var chosenTopics = form["topic"].Select(t => t ?? "").ToList();
        wrong.AddRange(chosenTopics.Where(t => !topics.Contains(t)).Select(t => $"topic={t}"));
        var frequency = form["frequency"].ToString();
        if (!Frequencies.All.Contains(frequency)) wrong.Add($"frequency={frequency}");
        var pause = form["pause"].ToString();
        if (pause.Length == 0) pause = "keep";
        if (!PauseChoices.Contains(pause)) wrong.Add($"pause={pause}");
        if (wrong.Count > 0)
        {
            var message = string.Format(CultureInfo.InvariantCulture, text.InvalidChoice, string.Join(", ", wrong));
            return PublicPage.Render(400, text.Locale, shop.Value.Name, text.BadRequestTitle,
                $"<p>{PublicPage.Encode(message)}</p><p><a href=\"{PublicPage.Encode(http.Request.Path)}\">{PublicPage.Encode(text.BackToPreferences)}</a></p>");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var witness = ConsentWitness.From(http, "preference_page", pageOptions.Value.ConsentTextVersion);
        // Only changes are recorded: an unticked purpose that was never granted gets no withdrawal of its own.
        var consent = await ConsentApi.CurrentStateAsync(db, claims.CustomerId, ct);
        foreach (var purpose in ConsentVocabulary.Purposes)
        {
            if (purposes.Contains(purpose)) await ConsentLedger.GrantAsync(db, claims.CustomerId, purpose, witness, now, ct);
            else if (consent[purpose].Status == "granted") await ConsentLedger.WithdrawAsync(db, claims.CustomerId, purpose, witness, now, ct);
        }
        var preferences = await db.CustomerPreferences.FirstOrDefaultAsync(p => p.CustomerId == claims.CustomerId, ct);
        if (preferences is null) db.CustomerPreferences.Add(preferences = new CustomerPreferences { CustomerId = claims.CustomerId });
        preferences.Frequency = frequency;
        preferences.TopicsOptedOut = topics.Except(chosenTopics).ToList();
        preferences.PausedUntil = pause switch { "none" => null, "30" => now.AddDays(30), "90" => now.AddDays(90), _ => preferences.PausedUntil };
        preferences.UpdatedAt = now;
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // The same form sent twice at once: the other request saved the same choices.
        }
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.SavedTitle,
            $"<p class=\"done\" role=\"status\">{PublicPage.Encode(text.Saved)}</p><p><a href=\"{PublicPage.Encode(http.Request.Path)}\">{PublicPage.Encode(text.BackToPreferences)}</a></p>");
    }

    static string Choice(string type, string name, string value, string label, bool selected) =>
        $"<label><input type=\"{type}\" name=\"{name}\" value=\"{PublicPage.Encode(value)}\"{(selected ? " checked" : "")}>{PublicPage.Encode(label)}</label>";

    static void Fieldset(StringBuilder body, string legend, IEnumerable<string> choices, string note = "") =>
        body.Append("<fieldset><legend>").Append(PublicPage.Encode(legend)).Append("</legend>").Append(note).AppendJoin("", choices).Append("</fieldset>");

    /// <summary>A valid link of a customer who no longer exists or whose data was erased: nothing to show or change.</summary>
    static IResult Gone(HttpContext http, ShopOptions shop)
    {
        var text = PageText.For(PublicPage.PreferredLocale(http, shop.DefaultLocale));
        return PublicPage.Render(410, text.Locale, shop.Name, text.LinkExpiredTitle, $"<p>{PublicPage.Encode(text.LinkExpired)}</p>{PublicPage.Contact(text, shop)}");
    }
}
