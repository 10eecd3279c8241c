using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Campaigns;

public sealed class CampaignsApiTests
{
    static async Task<long> SegmentIdAsync(RetentionApp app, string name) =>
        (await (await app.Api.GetAsync("/api/segments")).JsonAsync(200)).EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == name).GetProperty("id").GetInt64();

    static object Draft(long segmentId, string name = "Win back the sleepers") => new
    {
        name, segmentId, templateKey = "win-back", defaultLocale = "de",
        schedule = new { kind = "cron", cron = "0 9 * * MON", timeZone = "Europe/Berlin" },
        holdoutPercent = 10,
        policy = new { frequencyCap = 2, frequencyWindowDays = 7, onCap = "defer", quietFrom = "21:00", quietUntil = "08:00", repeatAfterDays = 30 },
        offer = new { codes = "generated", prefix = "WB", value = 10m, minimumOrder = 50m, validDays = 14 },
    };

    static List<string?> Actions(JsonElement campaign) => campaign.GetProperty("actions").EnumerateArray().Select(a => a.GetString()).ToList();

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACampaignMovesOnlyThroughItsTransitionTable(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segment = await SegmentIdAsync(app, "At risk");
        var created = await (await app.Api.PostAsJsonAsync("/api/campaigns", Draft(segment))).JsonAsync(201);
        var id = created.GetProperty("id").GetInt64();
        Assert.Equal("draft", created.GetProperty("state").GetString());
        Assert.Equal(["schedule", "cancel", "run-now"], Actions(created));
        Assert.Equal("win-back", created.GetProperty("templateKey").GetString());
        Assert.Equal("WB", created.GetProperty("offer").GetProperty("prefix").GetString());

        var scheduled = await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        Assert.Equal("scheduled", scheduled.GetProperty("state").GetString());
        Assert.Contains("state", (await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).ProblemErrorsAsync(409)).Keys);
        Assert.Contains("state", (await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { priority = 5 })).ProblemErrorsAsync(409)).Keys);
        Assert.Contains("state", (await (await app.Api.DeleteAsync($"/api/campaigns/{id}")).ProblemErrorsAsync(409)).Keys);

        Assert.Equal("paused", (await (await app.Api.PostAsync($"/api/campaigns/{id}/pause", null)).JsonAsync(200)).GetProperty("state").GetString());
        var edited = await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { priority = 5 })).JsonAsync(200);
        Assert.Equal(5, edited.GetProperty("priority").GetInt32());
        Assert.Contains("segmentId", (await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { segmentId = segment })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal("scheduled", (await (await app.Api.PostAsync($"/api/campaigns/{id}/resume", null)).JsonAsync(200)).GetProperty("state").GetString());
        Assert.Equal("cancelled", (await (await app.Api.PostAsync($"/api/campaigns/{id}/cancel", null)).JsonAsync(200)).GetProperty("state").GetString());
        var refused = await (await app.Api.PostAsync($"/api/campaigns/{id}/resume", null)).ProblemErrorsAsync(409);
        Assert.Contains("cannot 'resume'", refused["state"][0]);

        var draft = await (await app.Api.PostAsJsonAsync("/api/campaigns", Draft(segment, "Another"))).JsonAsync(201);
        Assert.Equal(204, (int)(await app.Api.DeleteAsync($"/api/campaigns/{draft.GetProperty("id").GetInt64()}")).StatusCode);
        Assert.Equal(404, (int)(await app.Api.GetAsync($"/api/campaigns/{draft.GetProperty("id").GetInt64()}")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ASegmentOrTemplateInUseCannotGoAndAnInvalidTemplateCannotBeScheduled(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new
        {
            name = "Lapsed Germans", rule = new { field = "locale", op = "=", value = "de" },
        })).JsonAsync(201);
        var segmentId = segment.GetProperty("id").GetInt64();
        await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "broken", name = "Broken", content = new { de = new { subject = "s", html = "{{ if offer }}" } },
        })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Uses broken", segmentId, templateKey = "broken",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();

        var notReady = await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).ProblemErrorsAsync(422);
        Assert.Contains("has errors", notReady["templateKey"][0]);
        Assert.Equal("draft", (await (await app.Api.GetAsync($"/api/campaigns/{id}")).JsonAsync(200)).GetProperty("state").GetString());

        var inUse = await (await app.Api.DeleteAsync($"/api/segments/{segmentId}")).ProblemErrorsAsync(409);
        Assert.Contains("'Uses broken'", inUse["id"][0]);

        await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { templateKey = "double-opt-in" })).JsonAsync(200);
        Assert.Contains("service template", (await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).ProblemErrorsAsync(422))["templateKey"][0]);
        await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { templateKey = "win-back", schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(-1) } })).JsonAsync(200);
        Assert.Contains("schedule.sendAt", (await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).ProblemErrorsAsync(422)).Keys);

        Assert.Equal(204, (int)(await app.Api.DeleteAsync($"/api/campaigns/{id}")).StatusCode);
        Assert.Equal(204, (int)(await app.Api.DeleteAsync($"/api/segments/{segmentId}")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACampaignWithoutAnOfferIsWarnedWhereItsTemplateShowsTheOffer(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All German", rule = new { field = "locale", op = "=", value = "de" } })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "code-only", name = "Code only",
            content = new { de = new { subject = "Ihr Code", html = "<p>{{ customer.greeting }}</p>\n<p>Code: {{ offer.coupon_code }}</p>{{ if offer }}{{ discount offer }}{{ end }}{{ include \"footer\" }}" } },
        })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "No offer", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "code-only",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201);
        var warning = Assert.Single(campaign.GetProperty("warnings").EnumerateArray()).GetString()!;
        Assert.Contains("'code-only' (de html, line 2, column 13) shows the offer, but this campaign gives none", warning);

        var id = campaign.GetProperty("id").GetInt64();
        var withOffer = await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new
        {
            offer = new { codes = "generated", prefix = "WB", value = 10m, validDays = 14 },
        })).JsonAsync(200);
        Assert.Empty(withOffer.GetProperty("warnings").EnumerateArray());
        var winBack = await (await app.Api.PutAsJsonAsync($"/api/campaigns/{id}", new { templateKey = "win-back" })).JsonAsync(200);
        Assert.Empty(winBack.GetProperty("warnings").EnumerateArray()); // its coupon block guards itself
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CronsAreReadAsHangfireReadsThemWithTheNextFiveRunsAndQuartzFormsAreRefusedWithTheirTranslation(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var segment = await SegmentIdAsync(app, "Champions");
        object WithCron(string name, string cron, DateTimeOffset? activeUntil = null) => new
        {
            name, segmentId = segment, templateKey = "win-back", activeUntil,
            schedule = new { kind = "cron", cron, timeZone = "Europe/Berlin" },
        };
        var created = await (await app.Api.PostAsJsonAsync("/api/campaigns", WithCron("Mondays", "0 9 * * 1"))).JsonAsync(201);
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var next = created.GetProperty("nextRuns").EnumerateArray().Select(r => r.GetDateTime()).ToList();
        Assert.Equal(5, next.Count);
        Assert.All(next, run => Assert.Equal((DayOfWeek.Monday, 9, 0), (TimeZoneInfo.ConvertTimeFromUtc(run, berlin).DayOfWeek,
            TimeZoneInfo.ConvertTimeFromUtc(run, berlin).Hour, TimeZoneInfo.ConvertTimeFromUtc(run, berlin).Minute)));
        Assert.Equal(next.Order(), next);
        Assert.True(next[0] > DateTime.UtcNow && next[4] - next[0] == TimeSpan.FromDays(28) + (next[4].Hour - next[0].Hour) * TimeSpan.FromHours(1));

        // Quartz's Monday is 2: read unconverted it would be Tuesday here, so it is refused with the same schedule written anew.
        var quartz = await (await app.Api.PostAsJsonAsync("/api/campaigns", WithCron("Quartz", "0 0 9 ? * 2"))).ProblemErrorsAsync(400);
        Assert.Contains("\"0 9 * * 1\"", quartz["schedule.cron"][0]);
        var year = await (await app.Api.PostAsJsonAsync("/api/campaigns", WithCron("Year", "0 0 9 ? * MON *"))).ProblemErrorsAsync(400);
        Assert.Contains("\"0 9 * * MON\"", year["schedule.cron"][0]);
        var nonsense = await (await app.Api.PostAsJsonAsync("/api/campaigns", WithCron("Nonsense", "61 9 * * *"))).ProblemErrorsAsync(400);
        Assert.Contains("is not a cron expression", nonsense["schedule.cron"][0]);
        Assert.DoesNotContain("Cronos", nonsense["schedule.cron"][0]);

        // A cron whose next slot lies after the active period never sends: scheduling says so.
        var over = await (await app.Api.PostAsJsonAsync("/api/campaigns", WithCron("Too late", "0 9 * * 1", activeUntil: next[0].AddHours(-1)))).JsonAsync(201);
        Assert.Empty(over.GetProperty("nextRuns").EnumerateArray());
        var refused = await (await app.Api.PostAsync($"/api/campaigns/{over.GetProperty("id").GetInt64()}/schedule", null)).ProblemErrorsAsync(422);
        Assert.Contains("no slot", refused["schedule.cron"][0]);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadInputNamesTheField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var errors = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            segmentId = 999999, templateKey = "nope", defaultLocale = "fr",
            sender = new { email = "not-an-address" },
            schedule = new { kind = "cron", cron = "every monday", timeZone = "Mars/Olympus" },
            holdoutPercent = 60,
            policy = new { onCap = "ignore", quietFrom = "25:00", quietUntil = "08:00" },
            offer = new { codes = "pool", value = 10m, percentOff = 10 },
        })).ProblemErrorsAsync(400);
        Assert.Equal(["defaultLocale", "holdoutPercent", "name", "offer.value", "policy.onCap", "policy.quietFrom", "schedule.cron", "schedule.timeZone",
            "segmentId", "sender.email", "templateKey"], errors.Keys.Order());

        var segment = await SegmentIdAsync(app, "Champions");
        Assert.Contains("schedule.sendAt", (await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "x", segmentId = segment, templateKey = "win-back", schedule = new { kind = "once" },
        })).ProblemErrorsAsync(400)).Keys);
        await (await app.Api.PostAsJsonAsync("/api/campaigns", Draft(segment))).JsonAsync(201);
        Assert.Contains("name", (await (await app.Api.PostAsJsonAsync("/api/campaigns", Draft(segment, "WIN BACK THE SLEEPERS"))).ProblemErrorsAsync(409)).Keys);
        Assert.Equal(404, (int)(await app.Api.PostAsync("/api/campaigns/424242/pause", null)).StatusCode);
        await (await app.Api.PostAsync("/api/campaigns", new StringContent("{\"name\": [", System.Text.Encoding.UTF8, "application/json"))).ProblemErrorsAsync(400);
    }
}
