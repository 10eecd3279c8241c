using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 17: error pages were dead ends, a mangled /u/ link answered JSON, List-Unsubscribe ran past 78 characters.</summary>
public sealed class PublicErrorPageTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task ErrorPagesOfferAWayForwardAndEveryPublicPathAnswersAPage(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var browser = app.CreateClient();
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("de");

        var expired = app.Services.GetRequiredService<LinkBuilder>().Confirm(42, DateTime.UtcNow.AddDays(-1));
        var page = await browser.GetAsync(new Uri(expired).AbsolutePath);
        Assert.Equal(410, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<form method=\"post\" action=\"/signup\">", html);
        Assert.Contains("type=\"email\" name=\"email\"", html);
        Assert.Contains("mailto:shop@example.com", html);

        foreach (var path in new[] { "/u/", "/u/abc/def", "/p/x/y", "/confirm/" })
        {
            var response = await browser.GetAsync(path);
            Assert.Equal(404, (int)response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("mailto:shop@example.com", await response.Content.ReadAsStringAsync());
        }
        var invalid = await (await browser.GetAsync("/u/not-a-token")).Content.ReadAsStringAsync();
        Assert.Contains("mailto:shop@example.com", invalid);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ListUnsubscribeIsFoldedWithinSeventyEightCharacters(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/F1", new { email = "f1@example.com" })).JsonAsync(201);
        await CampaignTestKit.GrantMarketingAsync(app, ["F1"]);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "F", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Folded");

        var raw = OutboxMessage.ReadAll(app.Outbox).Single().Raw;
        var header = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        var start = Array.FindIndex(header, l => l.StartsWith("List-Unsubscribe:", StringComparison.Ordinal));
        Assert.Equal("List-Unsubscribe:", header[start]);
        Assert.StartsWith(" <http://localhost:5080/u/", header[start + 1]);
        Assert.All(header[start..(start + 2)], l => Assert.True(l.Length <= 78, l));
    }
}
