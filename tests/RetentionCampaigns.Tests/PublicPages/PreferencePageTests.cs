using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Tests.Campaigns;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;

namespace RetentionCampaigns.Tests.PublicPages;

public sealed class PreferencePageTests
{
    static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    static string PreferencesPath(RetentionApp app, long customerId) =>
        PathOf(app.Services.GetRequiredService<LinkBuilder>().Preferences(customerId));

    [Theory, ClassData(typeof(BothStores))]
    public async Task ThePageShowsTheCurrentChoicesAndSavingRecordsConsentAndPreferences(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app, "P1", locale: "en");
        var url = PreferencesPath(app, id);
        using var browser = app.CreateClient();
        browser.DefaultRequestHeaders.UserAgent.ParseAdd("PreferenceTest/1.0");

        var page = await browser.GetAsync(url);
        Assert.Equal(200, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", html);
        Assert.Contains("p***@example.com", html);
        Assert.Contains("name=\"purpose\" value=\"email_marketing\" checked>", html);
        Assert.Contains("name=\"purpose\" value=\"tracking\">", html);
        Assert.Contains("name=\"topic\" value=\"offers\" checked>", html);
        Assert.Contains("name=\"frequency\" value=\"any\" checked>", html);
        Assert.DoesNotContain("<script", html);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());

        // Keep marketing email, add tracking, drop the offers topic, at most one a month, pause for 30 days.
        var saved = await browser.PostAsync(url, Form(("purpose", "email_marketing"), ("purpose", "tracking"), ("topic", "products"),
            ("topic", "surveys"), ("frequency", "monthly"), ("pause", "30")));
        Assert.Equal(200, (int)saved.StatusCode);
        Assert.Contains("Your preferences are saved", await saved.Content.ReadAsStringAsync());

        var preferences = await app.WithDbAsync(db => db.CustomerPreferences.AsNoTracking().SingleAsync(p => p.CustomerId == id));
        Assert.Equal("monthly", preferences.Frequency);
        Assert.Equal(["offers"], preferences.TopicsOptedOut);
        Assert.InRange(preferences.PausedUntil!.Value, DateTime.UtcNow.AddDays(29.9), DateTime.UtcNow.AddDays(30.1));
        var events = await app.WithDbAsync(db => db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == id && e.Source == "preference_page").ToListAsync());
        var tracking = Assert.Single(events); // marketing email was granted already: no new event for it
        Assert.Equal(("tracking", "granted", "consent", "2026-01"), (tracking.Purpose, tracking.Status, tracking.LawfulBasis, tracking.ConsentTextVersion));
        Assert.Equal("PreferenceTest/1.0", tracking.UserAgent);

        html = await (await browser.GetAsync(url)).Content.ReadAsStringAsync();
        Assert.Contains("name=\"purpose\" value=\"tracking\" checked>", html);
        Assert.Contains("name=\"topic\" value=\"offers\">", html);
        Assert.Contains("name=\"frequency\" value=\"monthly\" checked>", html);
        Assert.Contains("Your emails are paused until", html);

        // Unticking everything withdraws what was granted, once; "No pause" ends the pause; purposes never granted stay untouched.
        Assert.Equal(200, (int)(await browser.PostAsync(url, Form(("frequency", "any"), ("pause", "none")))).StatusCode);
        Assert.Equal(200, (int)(await browser.PostAsync(url, Form(("frequency", "any"), ("pause", "keep")))).StatusCode);
        Assert.Equal("withdrawn", await MarketingStatusAsync(app, id));
        events = await app.WithDbAsync(db => db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == id && e.Source == "preference_page").ToListAsync());
        Assert.Equal(["email_marketing withdrawn", "tracking granted", "tracking withdrawn"], events.Select(e => $"{e.Purpose} {e.Status}").Order());
        preferences = await app.WithDbAsync(db => db.CustomerPreferences.AsNoTracking().SingleAsync(p => p.CustomerId == id));
        Assert.Null(preferences.PausedUntil);
        Assert.Equal(["offers", "products", "surveys"], preferences.TopicsOptedOut.Order());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadChoicesAndBadLinksGetAnErrorPageAndChangeNothing(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app, "P2");
        var url = PreferencesPath(app, id);
        var tokens = app.Services.GetRequiredService<LinkTokens>();
        using var browser = app.CreateClient();

        foreach (var form in new[]
        {
            Form(("frequency", "daily"), ("pause", "keep")),
            Form(("frequency", "any"), ("pause", "365")),
            Form(("frequency", "any"), ("topic", "gossip")),
            Form(("frequency", "any"), ("purpose", "everything")),
            Form(("pause", "30")),
        })
        {
            var answer = await browser.PostAsync(url, form);
            Assert.Equal(400, (int)answer.StatusCode);
            Assert.Contains("Eine Auswahl war ungültig", await answer.Content.ReadAsStringAsync());
        }

        var token = url["/p/".Length..];
        var tampered = token[..12] + (token[12] == 'A' ? 'B' : 'A') + token[13..];
        foreach (var (path, status) in new[]
        {
            ($"/p/{tampered}", 400),
            ($"/p/{tokens.Create(LinkPurpose.Unsubscribe, id)}", 400),
            ($"/p/{tokens.Create(LinkPurpose.Preferences, id, DateTime.UtcNow.AddMinutes(-1))}", 410),
        })
        {
            Assert.Equal(status, (int)(await browser.GetAsync(path)).StatusCode);
            Assert.Equal(status, (int)(await browser.PostAsync(path, Form(("frequency", "weekly"), ("pause", "90")))).StatusCode);
        }

        Assert.Equal("granted", await MarketingStatusAsync(app, id));
        Assert.Equal(0, await app.WithDbAsync(db => db.CustomerPreferences.CountAsync()));
        Assert.Equal(1, await app.WithDbAsync(db => db.ConsentEvents.CountAsync(e => e.CustomerId == id)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CampaignsRespectPausesTopicsAndTheCustomersOwnFrequency(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var ids = new Dictionary<string, long>();
        foreach (var name in new[] { "Paused", "NoOffers", "Monthly", "Anything" })
            ids[name] = await ConsentingCustomerAsync(app, name, locale: "en");
        using var browser = app.CreateClient();
        async Task ChooseAsync(string name, params (string, string)[] form) =>
            Assert.Equal(200, (int)(await browser.PostAsync(PreferencesPath(app, ids[name]), Form([("purpose", "email_marketing"), .. form]))).StatusCode);
        await ChooseAsync("Paused", ("frequency", "any"), ("pause", "90"), ("topic", "offers"));
        await ChooseAsync("NoOffers", ("frequency", "any"), ("topic", "products"));
        await ChooseAsync("Monthly", ("frequency", "monthly"), ("topic", "offers"));

        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Everyone", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var segmentId = segment.GetProperty("id").GetInt64();
        Assert.Contains("topic", (await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Bad topic", segmentId, templateKey = "win-back", topic = "gossip",
        })).ProblemErrorsAsync(400)).Keys);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);

        var news = await CampaignTestKit.SendOneOffAsync(app, segmentId, "News");
        Assert.Equal("the customer paused marketing email until", news["Paused"].Reason![..41]);
        Assert.Equal(DeliveryStatuses.Sent, news["NoOffers"].Status); // no topic: opting out of offers does not matter
        Assert.Equal(DeliveryStatuses.Sent, news["Monthly"].Status);
        Assert.Equal(DeliveryStatuses.Sent, news["Anything"].Status);

        var offers = await CampaignTestKit.SendOneOffAsync(app, segmentId, "Offers", "offers");
        Assert.StartsWith("the customer paused marketing email", offers["Paused"].Reason);
        Assert.Equal((DeliveryStatuses.Skipped, "the customer opted out of the topic 'offers'"), (offers["NoOffers"].Status, offers["NoOffers"].Reason));
        Assert.Equal((DeliveryStatuses.Skipped, "the customer asked for at most one marketing email a month"), (offers["Monthly"].Status, offers["Monthly"].Reason));
        Assert.Equal(DeliveryStatuses.Sent, offers["Anything"].Status); // one email in 7 days is within the global cap of 2
    }
}
