using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Pages;

/// <summary>Issue 16, dashboard: the RFM grid and the metrics refresh.</summary>
public sealed class DashboardTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task TheDashboardShowsTheRfmGridAndAMarketerButNotAnAnalystRefreshesTheMetrics(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 4).Select(i => new { externalId = $"D{i}", email = $"d{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var orders = Enumerable.Range(1, 4).Select(i => new { externalId = $"DO{i}", customerId = $"D{i}", orderedAt = DateTimeOffset.UtcNow.AddDays(-i * 60), amount = 25m }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);

        var (analyst, analystPage) = await UiBrowser.SignedInAsync(app, "ana@shop.example", UserRoles.Analyst);
        Assert.Contains("The metrics were never computed.", analystPage);
        Assert.DoesNotContain("Refresh the metrics now", analystPage);
        var refused = await analyst.PostAsync("/?handler=Refresh", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = UiBrowser.AntiforgeryToken(analystPage),
        }));
        // Refused by the server (the cookie scheme answers a forbidden request with the "not allowed" page).
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.StartsWith("/account/denied", refused.Headers.Location!.PathAndQuery);
        Assert.Equal(0, await app.WithDbAsync(db => db.MetricsRuns.CountAsync()));

        var (marketer, marketerPage) = await UiBrowser.SignedInAsync(app, "mara@shop.example", UserRoles.Marketer);
        var refreshed = await marketer.PostAsync("/?handler=Refresh", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = UiBrowser.AntiforgeryToken(marketerPage),
        }));
        Assert.Equal(HttpStatusCode.Redirect, refreshed.StatusCode);
        Assert.Equal(1, await app.WithDbAsync(db => db.MetricsRuns.CountAsync()));

        var dashboard = await (await marketer.GetAsync("/")).Content.ReadAsStringAsync();
        Assert.Contains("Metrics as of", dashboard);
        Assert.Contains("<span class=\"group\">Champions</span>", dashboard);
        // Four customers with one order each: their cells add up to four.
        var counts = Regex.Matches(dashboard, @"<span class=""group"">[^<]+</span>\s*<a href=""/customers\?r=\d&amp;f=\d""><strong>(?<n>\d+)</strong>").Sum(m => int.Parse(m.Groups["n"].Value));
        Assert.Equal(4, counts);
    }

    static string RepeatRate(string page) =>
        Regex.Match(page, @"Repeat purchase rate</div>\s*<div class=""value"">([^<]*)<").Groups[1].Value;

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheDashboardShowsTheFiguresComputedWithTheMetricsUntilTheNextRefresh(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = new[] { new { externalId = "R1", email = "r1@example.com" } } })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders = new[] { new { externalId = "RO1", customerId = "R1", orderedAt = DateTimeOffset.UtcNow.AddDays(-10), amount = 30m } } })).JsonAsync(200);
        await (await app.Api.PostAsync("/api/metrics/refresh", null)).JsonAsync(200);

        var (marketer, first) = await UiBrowser.SignedInAsync(app, "mara@shop.example", UserRoles.Marketer);
        marketer.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB");
        Assert.Equal("0.0 %", RepeatRate(await (await marketer.GetAsync("/")).Content.ReadAsStringAsync()));

        // The API's refresh computes the figures after its answer; the trend is the last of them.
        for (var i = 0; i < 150 && await app.WithDbAsync(db => db.DashboardFigures.CountAsync(f => f.Name == "trend")) == 0; i++) await Task.Delay(100);
        // A second order: the dashboard keeps the figures of the last refresh (and says when) until the next one.
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders = new[] { new { externalId = "RO2", customerId = "R1", orderedAt = DateTimeOffset.UtcNow.AddDays(-2), amount = 30m } } })).JsonAsync(200);
        var stale = await (await marketer.GetAsync("/")).Content.ReadAsStringAsync();
        Assert.Equal("0.0 %", RepeatRate(stale));
        Assert.Contains("Figures as of", stale);

        var refreshed = await marketer.PostAsync("/?handler=Refresh", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = UiBrowser.AntiforgeryToken(stale),
        }));
        Assert.Equal(HttpStatusCode.Redirect, refreshed.StatusCode);
        // The figures follow the refresh in the background (minutes for a large shop): they arrive shortly.
        var rate = "";
        for (var i = 0; i < 150 && rate != "100.0 %"; i++)
        {
            if (i > 0) await Task.Delay(100);
            rate = RepeatRate(await (await marketer.GetAsync("/")).Content.ReadAsStringAsync());
        }
        Assert.Equal("100.0 %", rate);
        Assert.Equal(5, await app.WithDbAsync(db => db.DashboardFigures.CountAsync())); // four periods and the trend
    }
}
