using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Campaigns;

public sealed class CampaignRunTests
{
    [Theory]
    [InlineData(1L)]
    [InlineData(7L)]
    [InlineData(123456L)]
    public void TheHoldoutIsStableAndWithinOnePointOnTwentyThousand(long campaignId)
    {
        var held = Enumerable.Range(1, 20_000).Count(id => CampaignRuns.HoldoutBucket(campaignId, id) < 10);
        Assert.InRange(held / 200.0, 9.0, 11.0);
        Assert.Equal(CampaignRuns.HoldoutBucket(campaignId, 4242), CampaignRuns.HoldoutBucket(campaignId, 4242));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AScheduledCampaignFiresAndSnapshotsItsSegmentIntoTheLedgerOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 300).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com", locale = i % 3 == 0 ? "en" : "de" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "German speakers", rule = new { field = "locale", op = "=", value = "de" } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Hello Germans", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back", holdoutPercent = 10,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddSeconds(2) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);

        CampaignRun? run = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            run = await app.WithDbAsync(db => db.CampaignRuns.AsNoTracking().FirstOrDefaultAsync(r => r.CampaignId == id && r.State != RunStates.Snapshotting));
            if (run is not null) break;
            await Task.Delay(200);
        }
        Assert.NotNull(run);
        Assert.Equal(200, run.Members);
        var german = await app.WithDbAsync(db => db.Customers.Where(c => c.Locale == "de").Select(c => c.Id).ToListAsync());
        var expectedHeldOut = german.Where(c => CampaignRuns.HoldoutBucket(id, c) < 10).ToHashSet();
        var deliveries = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run.Id).ToListAsync());
        Assert.Equal(german.Order(), deliveries.Select(d => d.CustomerId).Order());
        Assert.Equal(expectedHeldOut.Order(), deliveries.Where(d => d.Status == DeliveryStatuses.HeldOut).Select(d => d.CustomerId).Order());
        Assert.Equal(expectedHeldOut.Count, run.HeldOut);
        // Nobody here consented to marketing email: the send jobs skip every member that is not held out.
        Assert.All(deliveries.Where(d => d.Status != DeliveryStatuses.HeldOut),
            d => Assert.Contains(d.Status, new[] { DeliveryStatuses.Pending, DeliveryStatuses.Claimed, DeliveryStatuses.Skipped }));
        Assert.Contains((await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString(), new[] { "running", "completed" });

        // A late second firing of the same slot (the campaign may have completed by now) adds nothing.
        await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, run.Slot, CancellationToken.None));
        Assert.Equal(1, await app.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)));
        Assert.Equal(200, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == run.Id)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ANewRunsFirstClaimTakesItsChunkThoughTheStatisticsKnewOnlyAnEarlierRun(DatabaseProvider store)
    {
        var postgres = store == DatabaseProvider.Postgres;
        await using var app = await RetentionApp.StartAsync(store);
        await ExecuteAsync(Harness.ScenarioShop.SeedSql(postgres, 1_500)); // 1,000 speak German, 500 English
        var started = DateTime.UtcNow;
        var first = await StartRunAsync("Spring", "de");
        Assert.Equal(1_000, first.Members);
        if (postgres)
        {
            // A run of a thousand or more has its statistics gathered before any send job plans a statement on it.
            var analyzed = await app.WithDbAsync(db => db.Database.SqlQueryRaw<DateTime?>(
                "SELECT last_analyze AS \"Value\" FROM pg_stat_user_tables WHERE relname = 'deliveries'").SingleAsync());
            Assert.True(analyzed >= started, $"deliveries last analyzed at {analyzed:O}, the run started at {started:O}");
        }
        // The first run went out in full and the statistics were gathered after it: they know of no other run, so
        // PostgreSQL estimates the next one at a single row (below a thousand, the run start gathers none).
        await ExecuteAsync($"UPDATE deliveries SET status = 'sent' WHERE run_id = {first.Id};" + (postgres ? " ANALYZE deliveries;" : ""));
        var second = await StartRunAsync("Summer", "en");
        Assert.Equal(500, second.Members);

        var claimed = await app.WithDbAsync(async db =>
        {
            await db.Database.OpenConnectionAsync(); // as the sender holds it open for its claims
            return await new DeliveryLedger(db, TimeProvider.System).ClaimAsync(second.Id, "test", 200, CancellationToken.None);
        });
        // Planned as a join, the claim's locking subquery was rescanned for each of the run's rows and took them all.
        Assert.Equal(200, claimed.Count);
        Assert.Equal(200, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == second.Id && d.Status == DeliveryStatuses.Claimed)));

        Task ExecuteAsync(string sql) => app.WithDbAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            return await db.Database.GetDbConnection().ExecuteAsync(sql);
        });

        async Task<CampaignRun> StartRunAsync(string name, string locale)
        {
            var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = $"{name} audience", rule = new { field = "locale", op = "=", value = locale } })).JsonAsync(201);
            var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
            {
                name, segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back",
                schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
            })).JsonAsync(201);
            var id = campaign.GetProperty("id").GetInt64();
            await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
            return (await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date.AddDays(1), CancellationToken.None)))!;
        }
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task StartingTheSameSlotTwiceFindsTheSameRunAndAddsNoDeliveries(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 50).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Later", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);

        // Hangfire may run a job twice (a retry, a node that died mid-job): the same slot must find the same run.
        var slot = DateTime.UtcNow.Date.AddDays(1);
        var first = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, slot, CancellationToken.None));
        var second = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, slot, CancellationToken.None));
        Assert.NotNull(first);
        Assert.Equal(first.Id, second!.Id);
        Assert.Equal(50, first.Members);
        Assert.Equal(1, await app.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)));
        Assert.Equal(50, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == first.Id)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ARunSendsToConsentingMembersOnceAndRecordsWhyForEveryoneElse(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 240).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com", firstName = $"Kim{i}", locale = i % 3 == 0 ? "en" : "de" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, Enumerable.Range(1, 240).Where(i => i % 4 != 0).Select(i => $"K{i}"), daysAgo: 3);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Everyone", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Everyone once", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "loyalty-thank-you", holdoutPercent = 10,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddSeconds(1) },
            policy = new { quietFrom = "", quietUntil = "" }, // this test is about consent and the ledger, at any hour
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString() != "completed" && DateTime.UtcNow < deadline)
            await Task.Delay(250);
        Assert.Equal("completed", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());

        var run = await app.WithDbAsync(db => db.CampaignRuns.AsNoTracking().SingleAsync(r => r.CampaignId == id));
        Assert.Equal(RunStates.Completed, run.State);
        var ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run.Id).ToListAsync());
        var externalIds = await app.WithDbAsync(db => db.Customers.ToDictionaryAsync(c => c.Id, c => int.Parse(c.ExternalId[1..])));
        Assert.Equal(240, ledger.Count);
        foreach (var delivery in ledger)
        {
            var n = externalIds[delivery.CustomerId];
            var expected = CampaignRuns.HoldoutBucket(id, delivery.CustomerId) < 10 ? DeliveryStatuses.HeldOut
                : n % 4 == 0 ? DeliveryStatuses.Skipped : DeliveryStatuses.Sent;
            Assert.True(expected == delivery.Status, $"K{n}: {delivery.Status} ({delivery.Reason}), expected {expected}");
            if (delivery.Status == DeliveryStatuses.Skipped) Assert.Equal("no marketing consent at send time", delivery.Reason);
            if (delivery.Status == DeliveryStatuses.Sent) Assert.False(string.IsNullOrEmpty(delivery.MessageId));
        }

        var files = Directory.GetFiles(app.Outbox, "*.eml");
        var headers = files.Select(f => System.Text.RegularExpressions.Regex.Match(File.ReadAllText(f), @"X-RC-Delivery: (\S+)\r\n").Groups[1].Value).ToList();
        Assert.Equal(ledger.Count(d => d.Status == DeliveryStatuses.Sent), files.Length);
        Assert.Equal(files.Length, headers.Distinct().Count());
        Assert.All(headers, h => Assert.StartsWith($"{run.Id}-", h));
        Assert.All(files, f => Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click", File.ReadAllText(f)));

        var report = (await (await app.Api.GetAsync($"/api/campaigns/{id}/runs")).JsonAsync(200)).EnumerateArray().Single();
        Assert.Equal(240, report.GetProperty("members").GetInt32());
        Assert.Equal(files.Length, report.GetProperty("statuses").GetProperty("sent").GetInt32());
        Assert.Equal(ledger.Count(d => d.Status == DeliveryStatuses.Skipped), report.GetProperty("statuses").GetProperty("skipped").GetInt32());
        Assert.Equal("completed", report.GetProperty("state").GetString());
        var skippedOne = externalIds.First(e => ledger.Single(d => d.CustomerId == e.Key).Status == DeliveryStatuses.Skipped).Value;
        var why = await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}/why/K{skippedOne}")).JsonAsync(200);
        Assert.Equal("skipped", why.GetProperty("status").GetString());
        Assert.Equal("no marketing consent at send time", why.GetProperty("reason").GetString());
        Assert.Equal(404, (int)(await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}/why/nobody")).StatusCode);
        Assert.Equal(404, (int)(await app.Api.GetAsync($"/api/campaigns/{id}/runs/999999")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task QuietHoursDeferByTheCustomersOwnClock(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        // Quiet hours from an hour ago to an hour from now, on UTC clocks: UTC customers wait, Tokyo customers (9 hours ahead) do not.
        var now = DateTime.UtcNow;
        var customers = Enumerable.Range(1, 20).Select(i => new { externalId = $"Q{i}", email = $"q{i}@example.com", timeZone = i % 2 == 0 ? "Etc/UTC" : "Asia/Tokyo" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, customers.Select(c => c.externalId), daysAgo: 1);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All Q", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Quiet test", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "loyalty-thank-you",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddSeconds(1) },
            policy = new { quietFrom = now.AddHours(-1).ToString("HH:mm"), quietUntil = now.AddHours(1).ToString("HH:mm") },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        List<RetentionCampaigns.Campaigns.Delivery> ledger = [];
        while (DateTime.UtcNow < deadline)
        {
            ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().ToListAsync());
            if (ledger.Count == 20 && ledger.All(d => d.Status is DeliveryStatuses.Sent or DeliveryStatuses.Deferred)) break;
            await Task.Delay(250);
        }
        var zones = await app.WithDbAsync(db => db.Customers.ToDictionaryAsync(c => c.Id, c => c.TimeZone));
        Assert.All(ledger.Where(d => zones[d.CustomerId] == "Asia/Tokyo"), d => Assert.Equal(DeliveryStatuses.Sent, d.Status));
        Assert.All(ledger.Where(d => zones[d.CustomerId] == "Etc/UTC"), d =>
        {
            Assert.Equal(DeliveryStatuses.Deferred, d.Status);
            Assert.StartsWith("quiet hours", d.Reason);
            var expected = new DateTime(now.Year, now.Month, now.Day, now.AddHours(1).Hour, now.AddHours(1).Minute, 0, DateTimeKind.Utc);
            if (expected < now) expected = expected.AddDays(1);
            Assert.Equal(expected, d.NotBefore);
        });
        Assert.Equal(10, Directory.GetFiles(app.Outbox, "*.eml").Length);
        Assert.Equal("running", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AWithdrawalAfterTheSnapshotStopsThatCustomersMessage(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 30).Select(i => new { externalId = $"W{i}", email = $"w{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, customers.Select(c => c.externalId), daysAgo: 2);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All W", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Withdrawal test", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "re-engagement",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) }, policy = new { quietFrom = "", quietUntil = "" },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);

        // The run takes its snapshot; then a third of the customers unsubscribe before anything is sent.
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date, CancellationToken.None));
        Assert.Equal(30, run!.Members);
        foreach (var i in Enumerable.Range(1, 30).Where(i => i % 3 == 0))
            await (await app.Api.PostAsJsonAsync("/api/consents", new
            {
                customerId = $"W{i}", purpose = "email_marketing", status = "withdrawn", source = "unsubscribe_link", occurredAt = DateTimeOffset.UtcNow,
            })).JsonAsync(201);

        var progress = await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "test-send-job", CancellationToken.None));
        Assert.Equal((20, 10, 0, true), (progress.Sent, progress.Skipped, progress.Failed, progress.RunFinished));
        var ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run.Id).Join(db.Customers, d => d.CustomerId, c => c.Id, (d, c) => new { c.ExternalId, d.Status }).ToListAsync());
        Assert.All(ledger, d => Assert.Equal(int.Parse(d.ExternalId[1..]) % 3 == 0 ? DeliveryStatuses.Skipped : DeliveryStatuses.Sent, d.Status));
        Assert.Equal(20, Directory.GetFiles(app.Outbox, "*.eml").Length);
        Assert.Equal("completed", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());

        // The ledger feeds segments: who got a marketing email in the last day, and who never did.
        var recently = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new
        {
            rule = new { field = "last_marketing_email_at", op = ">=", value = "1 day ago" },
        })).JsonAsync(200);
        Assert.Equal(20, recently.GetProperty("count").GetInt64());
        var never = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new
        {
            rule = new { field = "last_marketing_email_at", op = "is empty" },
        })).JsonAsync(200);
        Assert.Equal(10, never.GetProperty("count").GetInt64());

        // "Received campaign X within N days", and its opposite, from the same ledger.
        var received = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new
        {
            rule = new { field = $"received_campaign_at.{id}", op = ">=", value = "7 days ago" },
        })).JsonAsync(200);
        Assert.Equal(20, received.GetProperty("count").GetInt64());
        var otherCampaign = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new
        {
            rule = new { field = $"received_campaign_at.{id + 1000}", op = "is empty" },
        })).JsonAsync(200);
        Assert.Equal(30, otherCampaign.GetProperty("count").GetInt64());
        var saved = await (await app.Api.PostAsJsonAsync("/api/segments", new
        {
            name = "Got the withdrawal test", rule = new { field = $"received_campaign_at.{id}", op = ">=", value = "7 days ago" },
        })).JsonAsync(201);
        var explained = await (await app.Api.GetAsync($"/api/segments/{saved.GetProperty("id").GetInt64()}/explain/W1")).JsonAsync(200);
        Assert.True(explained.GetProperty("member").GetBoolean());
        var bad = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new
        {
            rule = new { field = "received_campaign_at.spring", op = "is empty" },
        })).ProblemErrorsAsync(422);
        Assert.Contains("campaign id", bad["rule.field"][0]);
    }
}
