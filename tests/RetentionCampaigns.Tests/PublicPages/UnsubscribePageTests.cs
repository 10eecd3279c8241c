using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.PublicPages;

public sealed class UnsubscribePageTests
{
    /// <summary>A customer who granted marketing email, and their internal id.</summary>
    internal static async Task<long> ConsentingCustomerAsync(RetentionApp app, string externalId = "U1", string locale = "de", string basis = "consent")
    {
        await (await app.Api.PutAsJsonAsync($"/api/customers/{externalId}", new { email = $"{externalId.ToLowerInvariant()}@example.com", locale })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/consents", new
        {
            customerId = externalId, purpose = "email_marketing", status = "granted", lawfulBasis = basis, source = "form",
            occurredAt = DateTimeOffset.UtcNow.AddDays(-3),
        })).JsonAsync(201);
        return await app.WithDbAsync(db => db.Customers.Where(c => c.ExternalId == externalId).Select(c => c.Id).SingleAsync());
    }

    internal static string PathOf(string url) => new Uri(url).PathAndQuery;

    internal static Task<string> MarketingStatusAsync(RetentionApp app, long customerId) => app.WithDbAsync(db => db.ConsentEvents
        .Where(e => e.CustomerId == customerId && e.Purpose == "email_marketing").OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id)
        .Select(e => e.Status).FirstAsync());

    static FormUrlEncodedContent OneClick() => new([new("List-Unsubscribe", "One-Click")]);

    [Theory, ClassData(typeof(BothStores))]
    public async Task AGetShowsOneButtonAndChangesNothingTheOneClickPostUnsubscribesOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app, locale: "en");
        var url = PathOf(app.Services.GetRequiredService<LinkBuilder>().Unsubscribe(id));
        using var browser = app.CreateClient();

        var page = await browser.GetAsync(url);
        Assert.Equal(200, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", html);
        Assert.Contains("u***@example.com", html);
        Assert.Contains("<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">", html);
        Assert.DoesNotContain("<script", html);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        Assert.StartsWith("default-src 'none'; style-src 'sha256-", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("granted", await MarketingStatusAsync(app, id));

        // RFC 8058: no cookie, no login, no CSRF token; the body alone unsubscribes, and the answer is 200.
        var post = await browser.PostAsync(url, OneClick());
        Assert.Equal(200, (int)post.StatusCode);
        Assert.Contains("You are unsubscribed", await post.Content.ReadAsStringAsync());
        Assert.Equal("withdrawn", await MarketingStatusAsync(app, id));
        var withdrawal = await app.WithDbAsync(db => db.ConsentEvents.SingleAsync(e => e.CustomerId == id && e.Status == "withdrawn"));
        Assert.Equal(("unsubscribe_link", "consent", false), (withdrawal.Source, withdrawal.LawfulBasis, withdrawal.Objection));

        // A provider posting again, or the bare body from a lax client: still 200, still one withdrawal.
        Assert.Equal(200, (int)(await browser.PostAsync(url, new StringContent("List-Unsubscribe=One-Click"))).StatusCode);
        Assert.Equal(1, await app.WithDbAsync(db => db.ConsentEvents.CountAsync(e => e.CustomerId == id && e.Status == "withdrawn")));
        Assert.Contains("already unsubscribed", await (await browser.GetAsync(url)).Content.ReadAsStringAsync());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TamperedExpiredOrOtherPurposeLinksGet400Or410AndChangeNothing(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app);
        var links = app.Services.GetRequiredService<LinkBuilder>();
        var tokens = app.Services.GetRequiredService<LinkTokens>();
        var token = PathOf(links.Unsubscribe(id))["/u/".Length..];
        var tampered = token[..10] + (token[10] == 'A' ? 'B' : 'A') + token[11..];
        using var browser = app.CreateClient();
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB,en;q=0.9");

        foreach (var (path, status) in new[]
        {
            ($"/u/{tampered}", 400),
            ($"/u/{token[..^2]}", 400),
            ($"/u/{tokens.Create(LinkPurpose.Preferences, id)}", 400),
            ($"/u/{tokens.Create(LinkPurpose.Unsubscribe, id, DateTime.UtcNow.AddMinutes(-1))}", 410),
            ("/u/not-a-token!", 400),
        })
        {
            var get = await browser.GetAsync(path);
            Assert.Equal(status, (int)get.StatusCode);
            Assert.Contains(status == 410 ? "This link has expired" : "This link is not valid", await get.Content.ReadAsStringAsync());
            Assert.Equal(status, (int)(await browser.PostAsync(path, OneClick())).StatusCode);
        }
        Assert.Equal("granted", await MarketingStatusAsync(app, id));

        // A POST without the one-click body changes nothing either.
        var url = $"/u/{token}";
        Assert.Equal(400, (int)(await browser.PostAsync(url, new FormUrlEncodedContent([new("List-Unsubscribe", "Yes")]))).StatusCode);
        Assert.Equal(400, (int)(await browser.PostAsync(url, null)).StatusCode);
        Assert.Equal("granted", await MarketingStatusAsync(app, id));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task UnsubscribingFromMailSentToAnExistingCustomerIsAnObjection(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app, basis: "existing_customer");
        using var browser = app.CreateClient();
        Assert.Equal(200, (int)(await browser.PostAsync(PathOf(app.Services.GetRequiredService<LinkBuilder>().Unsubscribe(id)), OneClick())).StatusCode);
        var withdrawal = await app.WithDbAsync(db => db.ConsentEvents.SingleAsync(e => e.CustomerId == id && e.Status == "withdrawn"));
        Assert.Equal(("existing_customer", true), (withdrawal.LawfulBasis, withdrawal.Objection));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task GuessingLinksIsRefusedAfterTheLimitEvenForAGoodLink(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["PublicPages:BadLinksPerMinute"] = "3" });
        var id = await ConsentingCustomerAsync(app);
        using var browser = app.CreateClient();
        for (var i = 0; i < 3; i++) Assert.Equal(400, (int)(await browser.GetAsync($"/u/guess{i}")).StatusCode);
        var refused = await browser.GetAsync(PathOf(app.Services.GetRequiredService<LinkBuilder>().Unsubscribe(id)));
        Assert.Equal(429, (int)refused.StatusCode);
        Assert.Equal("60", refused.Headers.GetValues("Retry-After").Single());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task PagesAreRateLimitedPerAddressButOneClickPostsWithGoodLinksAreNot(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["PublicPages:RequestsPerMinute"] = "5" });
        var id = await ConsentingCustomerAsync(app);
        var url = PathOf(app.Services.GetRequiredService<LinkBuilder>().Unsubscribe(id));
        using var browser = app.CreateClient();
        var statuses = new List<int>();
        for (var i = 0; i < 8; i++) statuses.Add((int)(await browser.GetAsync(url)).StatusCode);
        Assert.Equal(5, statuses.Count(s => s == 200));
        Assert.Equal(3, statuses.Count(s => s == 429));
        for (var i = 0; i < 20; i++) Assert.Equal(200, (int)(await browser.PostAsync(url, OneClick())).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheUnsubscribeUrlInACampaignEmailWorks(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await ConsentingCustomerAsync(app, "U7");
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "U7", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "To U7");
        Assert.Equal("sent", ledger["U7"].Status);
        var eml = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(app.Outbox, "*.eml")));
        Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", eml);
        var url = System.Text.RegularExpressions.Regex.Match(eml, @"List-Unsubscribe:\s+<(http[^>]+)>").Groups[1].Value;
        using var mailbox = app.CreateClient();
        Assert.Equal(200, (int)(await mailbox.PostAsync(PathOf(url), new StringContent("List-Unsubscribe=One-Click", System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"))).StatusCode);
        Assert.Equal("withdrawn", await MarketingStatusAsync(app, id));
    }
}
