using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 5: a run's recipients could not be listed, only counted.</summary>
public sealed class RunRecipientsTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task ARunsRecipientsAreListedInPagesFilteredCountedByReasonAndExportedAsCsv(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 30).Select(i => new { externalId = $"K{i:D2}", email = $"k{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, customers.Where((_, i) => i % 3 != 0).Select(c => c.externalId));
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Listed");
        var runId = ledger.Values.First().RunId;
        var campaignId = await app.WithDbAsync(db => db.CampaignRuns.Where(r => r.Id == runId).Select(r => r.CampaignId).SingleAsync());
        var runPath = $"/api/campaigns/{campaignId}/runs/{runId}";

        // Pages of 7 walk all 30 in order, each row with its status, reason and message id.
        var seen = new List<JsonElement>();
        long? after = null;
        do
        {
            var page = await (await app.Api.GetAsync($"{runPath}/deliveries?limit=7" + (after is { } a ? $"&after={a}" : ""))).JsonAsync(200);
            seen.AddRange(page.GetProperty("items").EnumerateArray());
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetInt64();
        } while (after is not null);
        Assert.Equal(30, seen.Count);
        Assert.Equal(ledger.Keys.Order(), seen.Select(r => r.GetProperty("customerId").GetString()).Order());
        var sent = seen.Where(r => r.GetProperty("status").GetString() == "sent").ToList();
        Assert.Equal(ledger.Values.Count(d => d.Status == DeliveryStatuses.Sent), sent.Count);
        Assert.All(sent, r =>
        {
            Assert.Equal("member of segment version 1; marketing consent: consent (double opt-in)", r.GetProperty("reason").GetString());
            Assert.False(string.IsNullOrEmpty(r.GetProperty("messageId").GetString()));
        });

        var skipped = await (await app.Api.GetAsync($"{runPath}/deliveries?status=skipped&reason=consent")).JsonAsync(200);
        Assert.Equal(10, skipped.GetProperty("items").GetArrayLength());
        var report = await (await app.Api.GetAsync(runPath)).JsonAsync(200);
        var reasons = report.GetProperty("reasons").EnumerateArray().ToDictionary(r => (r.GetProperty("status").GetString(), r.GetProperty("reason").GetString()), r => r.GetProperty("count").GetInt32());
        Assert.Equal(10, reasons[("skipped", "no marketing consent at send time")]);
        Assert.Equal(sent.Count, reasons[("sent", "member of segment version 1; marketing consent: consent (double opt-in)")]);

        var csv = await app.Api.GetAsync($"{runPath}/deliveries.csv?status=skipped");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("customer_id,status,reason,held_out,message_id,attempts,not_before,updated_at,bounces,last_bounce", lines[0]);
        Assert.Equal(11, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.Contains(",skipped,no marketing consent at send time,false,", l));

        Assert.Contains("status", (await (await app.Api.GetAsync($"{runPath}/deliveries?status=sort-of")).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("limit", (await (await app.Api.GetAsync($"{runPath}/deliveries?limit=5000")).ProblemErrorsAsync(400)).Keys);
        await (await app.Api.GetAsync($"/api/campaigns/{campaignId}/runs/999999/deliveries")).ProblemErrorsAsync(404);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task DeliveriesLeftByACancelledCampaignAreCancelledNotSkipped(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 12).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Stopped", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date.AddDays(1), CancellationToken.None));
        await (await app.Api.PostAsync($"/api/campaigns/{id}/cancel", null)).JsonAsync(200);

        var report = await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run!.Id}")).JsonAsync(200);
        Assert.Equal(12, report.GetProperty("statuses").GetProperty("cancelled").GetInt32());
        Assert.False(report.GetProperty("statuses").TryGetProperty("skipped", out _));
        var page = await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}/deliveries?status=cancelled")).JsonAsync(200);
        Assert.Equal(12, page.GetProperty("items").GetArrayLength());
    }
}
