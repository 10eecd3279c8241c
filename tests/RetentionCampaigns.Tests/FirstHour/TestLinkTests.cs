using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.PublicPages;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 3: a test email carried the real customer's unsubscribe link and unsubscribed them.</summary>
public sealed partial class TestLinkTests
{
    static FormUrlEncodedContent OneClick() => new([new("List-Unsubscribe", "One-Click")]);

    [GeneratedRegex(@"List-Unsubscribe:\s+<(?<url>[^>]+)>")]
    private static partial Regex UnsubscribeHeader();

    [GeneratedRegex(@"https?://[^\s""<>)]+/(?<kind>[upcr])/[^\s""<>)]+")]
    private static partial Regex PublicLink();

    [Theory, ClassData(typeof(BothStores))]
    public async Task ATestEmailsLinksShowThePagesButChangeNothingForTheRealCustomer(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await UnsubscribePageTests.ConsentingCustomerAsync(app, "C00113", locale: "en");
        await (await app.Api.PostAsJsonAsync("/api/consents", new
        {
            customerId = "C00113", purpose = "tracking", status = "granted", lawfulBasis = "consent", source = "form", occurredAt = DateTimeOffset.UtcNow.AddDays(-3),
        })).JsonAsync(201);
        await Referrals.ReferralLinkTests.ActiveProgramAsync(app);
        foreach (var template in new[] { "re-engagement", "referral-invitation" })
            await (await app.Api.PostAsJsonAsync($"/api/templates/{template}/test-send", new { to = "marketer@shop.example", customerId = "C00113" })).JsonAsync(200);
        var messages = OutboxMessage.ReadAll(app.Outbox);
        Assert.Equal(2, messages.Count);
        using var browser = app.CreateClient(new() { AllowAutoRedirect = false });
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en"); // the referral page speaks the visitor's language

        var header = UnsubscribeHeader().Match(messages[0].Raw.Replace("\r\n ", " ")).Groups["url"].Value;
        var links = messages.SelectMany(m => PublicLink().Matches(m.Text).Select(x => System.Net.WebUtility.HtmlDecode(x.Value))).Append(header).Distinct().ToList();
        Assert.Contains(links, l => l.Contains("/u/"));
        Assert.Contains(links, l => l.Contains("/p/"));
        Assert.Contains(links, l => l.Contains("/c/"));
        Assert.Contains(links, l => l.Contains("/r/"));
        foreach (var link in links)
        {
            var path = UnsubscribePageTests.PathOf(link);
            var page = await browser.GetAsync(path);
            if (path.StartsWith("/c/", StringComparison.Ordinal)) { Assert.Equal(302, (int)page.StatusCode); continue; }
            var html = await page.Content.ReadAsStringAsync();
            Assert.True(200 == (int)page.StatusCode, $"{path}: {(int)page.StatusCode} {html}");
            Assert.True(html.Contains("test email or a preview"), $"{path}: {html[^600..]}");
            if (path.StartsWith("/u/", StringComparison.Ordinal) || path.StartsWith("/p/", StringComparison.Ordinal))
            {
                var post = await browser.PostAsync(path, path.StartsWith("/u/", StringComparison.Ordinal) ? OneClick() : new FormUrlEncodedContent([new("frequency", "monthly")]));
                Assert.Equal(200, (int)post.StatusCode);
                Assert.Contains("nothing was changed", await post.Content.ReadAsStringAsync());
            }
        }

        Assert.Equal("granted", await UnsubscribePageTests.MarketingStatusAsync(app, id));
        Assert.Equal(0, await app.WithDbAsync(db => db.ConsentEvents.CountAsync(e => e.CustomerId == id && e.Status == "withdrawn")));
        Assert.Equal(0, await app.WithDbAsync(db => db.CustomerPreferences.CountAsync(p => p.CustomerId == id)));
        Assert.Equal(0, await app.WithDbAsync(db => db.LinkClicks.CountAsync()));
        Assert.Equal(0, await app.WithDbAsync(db => db.ReferralVisits.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task APreviewsLinksAreTestLinksForARealCustomerAndForTheSample(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await UnsubscribePageTests.ConsentingCustomerAsync(app, "C1", locale: "de");
        using var browser = app.CreateClient();
        foreach (var body in new object[] { new { customerId = "C1" }, new { } })
        {
            var preview = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", body)).JsonAsync(200);
            var unsubscribe = PublicLink().Matches(preview.GetProperty("html").GetString()!).Select(m => m.Value).First(l => l.Contains("/u/"));
            var post = await browser.PostAsync(UnsubscribePageTests.PathOf(System.Net.WebUtility.HtmlDecode(unsubscribe)), OneClick());
            Assert.Equal(200, (int)post.StatusCode);
            Assert.Contains("Nichts wurde geändert", await post.Content.ReadAsStringAsync());
        }
        Assert.Equal("granted", await UnsubscribePageTests.MarketingStatusAsync(app, id));
    }
}
