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
        Assert.All(deliveries.Where(d => d.Status != DeliveryStatuses.HeldOut), d => Assert.Equal(DeliveryStatuses.Pending, d.Status));
        Assert.Equal("running", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());

        // Quartz may run a job twice: the same slot finds the same run and adds nothing.
        var again = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, run.Slot, CancellationToken.None));
        Assert.Equal(run.Id, again!.Id);
        Assert.Equal(1, await app.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)));
        Assert.Equal(200, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == run.Id)));
    }
}
