using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Campaigns;

public sealed class SendingLimitsTests
{
    /// <summary>Customers who all consented, a segment of them, and a campaign whose run has taken its snapshot.</summary>
    static async Task<(long CampaignId, CampaignRun Run)> SnapshotAsync(RetentionApp app, int customers, object policy)
    {
        var list = Enumerable.Range(1, customers).Select(i => new { externalId = $"L{i}", email = $"l{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = list })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, list.Select(c => c.externalId), daysAgo: 2);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All L", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Limits", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "re-engagement",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) }, policy,
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date, CancellationToken.None));
        Assert.Equal(customers, run!.Members);
        return (id, run);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACampaignsRateLimitSpacesItsMessages(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (_, run) = await SnapshotAsync(app, 30, new { quietFrom = "", quietUntil = "", ratePerMinute = 600 });
        var watch = Stopwatch.StartNew();
        var progress = await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "limit-test", CancellationToken.None));
        Assert.Equal(30, progress.Sent);
        // 600 a minute is 10 a second: 10 at once, then the other 20 over about two seconds.
        Assert.InRange(watch.Elapsed.TotalSeconds, 1.7, 10);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TooManyRefusalsPauseTheCampaign(DatabaseProvider store)
    {
        // A server that refuses every recipient with 5xx.
        using var sink = await SmtpSink.StartAsync("-f", "RCPT");
        await using var app = await RetentionApp.StartAsync(store, sink.AppSettings());
        var (id, run) = await SnapshotAsync(app, 150, new { quietFrom = "", quietUntil = "" });
        await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "errors-test", CancellationToken.None));
        Assert.Equal("paused", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());
        var statuses = await app.WithDbAsync(db => db.Deliveries.Where(d => d.RunId == run.Id).GroupBy(d => d.Status).ToDictionaryAsync(g => g.Key, g => g.Count()));
        // The pause comes with the chunk that reaches 20 errors; the rest of the claimed batch goes back to pending.
        Assert.InRange(statuses[DeliveryStatuses.Failed], 20, 23);
        Assert.Equal(150 - statuses[DeliveryStatuses.Failed], statuses[DeliveryStatuses.Pending]);
        var why = await app.WithDbAsync(db => db.Deliveries.FirstAsync(d => d.RunId == run.Id && d.Status == DeliveryStatuses.Failed));
        Assert.StartsWith("500 5.3.0", why.Reply);
    }
}
