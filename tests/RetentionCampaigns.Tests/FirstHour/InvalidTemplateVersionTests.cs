using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 1: a campaign sent a template version that failed its checks.</summary>
public sealed class InvalidTemplateVersionTests
{
    static object Content(string subject, string html) => new { subject, html };

    static async Task<long> ScheduledCampaignAsync(RetentionApp app, string templateKey)
    {
        var customers = Enumerable.Range(1, 6).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com", firstName = $"Kim{i}" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, customers.Select(c => c.externalId));
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Everyone", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Spring", segmentId = segment.GetProperty("id").GetInt64(), templateKey,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) }, policy = new { quietFrom = "", quietUntil = "" },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        return id;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACampaignWhoseTemplateGainedErrorsAfterSchedulingIsPausedWithTheReasonAndSendsNothing(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "spring", name = "Spring", content = new { de = Content("Frühling", "<p>{{ customer.greeting }}</p>{{ include \"footer\" }}"), en = Content("Spring", "<p>Hi</p>{{ include \"footer\" }}") },
        })).JsonAsync(201);
        var id = await ScheduledCampaignAsync(app, "spring");
        var broken = await (await app.Api.PutAsJsonAsync("/api/templates/spring", new
        {
            content = new { de = Content("Frühling {{ customer.first_nam }}", "<p></p>"), en = Content("Spring", "<p></p>") },
        })).JsonAsync(200);
        Assert.False(broken.GetProperty("valid").GetBoolean());

        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date.AddDays(1), CancellationToken.None));

        Assert.Null(run);
        Assert.Equal(0, await app.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)));
        Assert.Empty(Directory.Exists(app.Outbox) ? Directory.GetFiles(app.Outbox) : []);
        var campaign = await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200);
        Assert.Equal("paused", campaign.GetProperty("state").GetString());
        Assert.Contains("version 2 of template 'spring' has errors", campaign.GetProperty("stateReason").GetString());
        // Resuming is refused while the template has errors; the reason stays until a person acts.
        await (await app.Api.PostAsync($"/api/campaigns/{id}/resume", null)).ProblemErrorsAsync(422);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheSenderRefusesAMessageWhoseRenderedTextLacksTheUnsubscribeLinkOrThePostalAddress(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        // Passes the check (the sample customer has a last name) but renders no footer for customers without one.
        var created = await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "sly", name = "Sly", content = new
            {
                de = Content("Hallo", "<p>Hallo</p>{{ if customer.last_name }}{{ include \"footer\" }}{{ end }}"),
                en = Content("Hello", "<p>Hello</p>{{ if customer.last_name }}{{ include \"footer\" }}{{ end }}"),
            },
        })).JsonAsync(201);
        Assert.True(created.GetProperty("valid").GetBoolean());
        var id = await ScheduledCampaignAsync(app, "sly");

        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date.AddDays(1), CancellationToken.None));
        await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run!.Id, "test", CancellationToken.None));

        Assert.Empty(Directory.Exists(app.Outbox) ? Directory.GetFiles(app.Outbox) : []);
        var ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run!.Id).ToListAsync());
        Assert.Equal(6, ledger.Count);
        Assert.All(ledger, d =>
        {
            Assert.Equal(DeliveryStatuses.Failed, d.Status);
            Assert.Contains("lacks the unsubscribe link and the postal address", d.Reason);
        });
    }
}
