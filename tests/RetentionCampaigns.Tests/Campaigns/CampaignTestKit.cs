using System.Net.Http.Json;

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
}
