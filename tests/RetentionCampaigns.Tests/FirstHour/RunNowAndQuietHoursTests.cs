using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 9: run-now at night, quiet hours off, the planned time of a one-off, a paused run.</summary>
public sealed class RunNowAndQuietHoursTests
{
    static async Task<long> SegmentAsync(RetentionApp app, int customers)
    {
        var rows = Enumerable.Range(1, customers).Select(i => new { externalId = $"Q{i}", email = $"q{i}@example.com", timeZone = "Europe/Berlin" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = rows })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        return (await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Q", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201)).GetProperty("id").GetInt64();
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task QuietHoursAreTurnedOffWithNullOrOffAndAWrongTimeNamesItsField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segmentId = await SegmentAsync(app, 1);
        foreach (var (name, off) in new[] { ("null", (object?)null), ("off", "off"), ("OFF", "OFF") })
        {
            var created = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
            {
                name = $"Quiet {name} {Guid.NewGuid():N}", segmentId, templateKey = "win-back", schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
                policy = new { quietFrom = off, quietUntil = off },
            })).JsonAsync(201);
            Assert.Equal("", created.GetProperty("policy").GetProperty("quietFrom").GetString());
            Assert.Equal("", created.GetProperty("policy").GetProperty("quietUntil").GetString());
        }
        var wrong = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Quiet wrong", segmentId, templateKey = "win-back", schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
            policy = new { quietFrom = "21:00", quietUntil = "25:00" },
        })).ProblemErrorsAsync(400);
        Assert.Contains("null or \"off\"", wrong["policy.quietUntil"].Single());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task RunNowSaysUpFrontHowManyQuietHoursDeferAndKeepsAOneOffsPlannedTime(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segmentId = await SegmentAsync(app, 5);
        // Quiet hours around this very moment in Berlin: everyone is in them.
        var berlin = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        string Clock(DateTime local) => local.ToString("HH:mm", CultureInfo.InvariantCulture);
        var planned = DateTimeOffset.UtcNow.AddDays(2);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "At night", segmentId, templateKey = "win-back", schedule = new { kind = "once", sendAt = planned },
            policy = new { quietFrom = Clock(berlin.AddHours(-1)), quietUntil = Clock(berlin.AddHours(2)) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();

        var scheduled = await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        var shown = await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200);
        Assert.Equal(5, shown.GetProperty("forecast").GetProperty("members").GetInt32());

        var answer = await (await app.Api.PostAsync($"/api/campaigns/{id}/run-now", null)).JsonAsync(200);
        var forecast = answer.GetProperty("forecast");
        Assert.Equal(5, forecast.GetProperty("deferredByQuietHours").GetInt32());
        var until = forecast.GetProperty("deferredUntil").GetDateTime();
        Assert.InRange(until, DateTime.UtcNow.AddMinutes(50), DateTime.UtcNow.AddHours(2).AddMinutes(1));
        Assert.Contains("5 of 5 members are in their quiet hours", forecast.GetProperty("note").GetString());
        Assert.Equal(planned.ToUnixTimeSeconds(), answer.GetProperty("schedule").GetProperty("sendAt").GetDateTimeOffset().ToUnixTimeSeconds());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task PausingACampaignShowsItsRunAsPausedAndResumingAsSending(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segmentId = await SegmentAsync(app, 3);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Paused", segmentId, templateKey = "win-back", schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(id, DateTime.UtcNow.Date.AddDays(1), CancellationToken.None));

        await (await app.Api.PostAsync($"/api/campaigns/{id}/pause", null)).JsonAsync(200);
        Assert.Equal("paused", (await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run!.Id}")).JsonAsync(200)).GetProperty("state").GetString());
        await (await app.Api.PostAsync($"/api/campaigns/{id}/resume", null)).JsonAsync(200);
        var state = (await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}")).JsonAsync(200)).GetProperty("state").GetString();
        Assert.Contains(state, new[] { "sending", "completed" });
    }
}
