using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Campaigns;

public static class CampaignTestKit
{
    /// <summary>Records a double opt-in grant of marketing email for each customer, <paramref name="daysAgo"/> days back.</summary>
    public static async Task GrantMarketingAsync(RetentionApp app, IEnumerable<string> externalIds, int daysAgo = 2)
    {
        foreach (var externalId in externalIds)
            await (await app.Api.PostAsJsonAsync("/api/consents", new
            {
                customerId = externalId, purpose = "email_marketing", status = "granted", lawfulBasis = "consent", source = "form",
                occurredAt = DateTimeOffset.UtcNow.AddDays(-daysAgo),
            })).JsonAsync(201);
    }

    /// <summary>Creates, schedules and sends a one-off campaign to the segment now; its ledger by customer external id.</summary>
    public static async Task<Dictionary<string, Delivery>> SendOneOffAsync(RetentionApp app, long segmentId, string name, string? topic = null,
        string templateKey = "win-back")
    {
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name, segmentId, templateKey, topic,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) }, policy = new { quietFrom = "", quietUntil = "" },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date, CancellationToken.None));
        await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run!.Id, "test", CancellationToken.None));
        return await app.WithDbAsync(db => (from d in db.Deliveries.AsNoTracking()
                                            join c in db.Customers on d.CustomerId equals c.Id
                                            where d.RunId == run!.Id
                                            select new { c.ExternalId, d }).ToDictionaryAsync(x => x.ExternalId, x => x.d));
    }
}
