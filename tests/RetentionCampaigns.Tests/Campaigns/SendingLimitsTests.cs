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

    [Theory, ClassData(typeof(BothStores))]
    public async Task PauseStopsSendingWithinSecondsResumeCarriesOnAndCancelSkipsTheRest(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        // 20 messages a second, so the run lasts long enough to be paused half-way.
        var (id, run) = await SnapshotAsync(app, 300, new { quietFrom = "", quietUntil = "", ratePerMinute = 1_200 });
        await (await app.Api.PostAsync($"/api/campaigns/{id}/run-now", null)).ProblemErrorsAsync(409); // running: not now
        var sending = app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "pause-test", CancellationToken.None));
        while (Sent() < 40) await Task.Delay(50);

        Assert.Equal("paused", (await (await app.Api.PostAsync($"/api/campaigns/{id}/pause", null)).JsonAsync(200)).GetProperty("state").GetString());
        var pausedAt = Sent();
        await sending.WaitAsync(TimeSpan.FromSeconds(3)); // the job notices within a second and gives its claims back
        await Task.Delay(1_000);
        Assert.InRange(Sent(), pausedAt, pausedAt + 30);
        var open = await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == run.Id && d.Status == DeliveryStatuses.Pending));
        Assert.Equal(300 - Sent(), open);

        // Resume carries on with the same run (the campaign runs again, its send jobs restart) to the end.
        Assert.Equal("running", (await (await app.Api.PostAsync($"/api/campaigns/{id}/resume", null)).JsonAsync(200)).GetProperty("state").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString() != "completed" && DateTime.UtcNow < deadline)
            await Task.Delay(200);
        Assert.Equal(300, Sent());
        Assert.Equal(300, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == run.Id && d.Status == DeliveryStatuses.Sent)));

        int Sent() => Directory.Exists(app.Outbox) ? Directory.GetFiles(app.Outbox, "*.eml").Length : 0;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CancellingARunningCampaignCancelsWhatWasNotSentWithTheReason(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (id, run) = await SnapshotAsync(app, 200, new { quietFrom = "", quietUntil = "", ratePerMinute = 1_200 });
        var sending = app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "cancel-test", CancellationToken.None));
        while (!Directory.Exists(app.Outbox) || Directory.GetFiles(app.Outbox, "*.eml").Length < 20) await Task.Delay(50);
        Assert.Equal("cancelled", (await (await app.Api.PostAsync($"/api/campaigns/{id}/cancel", null)).JsonAsync(200)).GetProperty("state").GetString());
        await sending.WaitAsync(TimeSpan.FromSeconds(3));

        var ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run.Id).ToListAsync());
        var sent = ledger.Count(d => d.Status == DeliveryStatuses.Sent);
        Assert.Equal(Directory.GetFiles(app.Outbox, "*.eml").Length, sent);
        Assert.Equal(200 - sent, ledger.Count(d => d.Status == DeliveryStatuses.Cancelled && d.Reason == "the campaign was cancelled"));
        Assert.Equal(RunStates.Cancelled, (await app.WithDbAsync(db => db.CampaignRuns.SingleAsync(r => r.Id == run.Id))).State);
    }
}
