using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 13: problem details showed framework internals, named only the first wrong field, and said nothing of what to do.</summary>
public sealed class ProblemDetailsTests
{
    static readonly string[] Internals = ["System.", "Nullable", "Implicit body", "Failed to bind", "JsonException", "Path: $", "inferred"];

    static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        foreach (var word in Internals) Assert.DoesNotContain(word, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadInputIsToldInAUsersWordsWithEveryWrongFieldNamed(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);

        var types = await ProblemAsync(await app.Api.PostAsync("/api/campaigns", new StringContent(
            """{"name": "x", "segmentId": "seven", "holdoutPercent": "ten", "schedule": {"kind": "once", "sendAt": "tomorrow"}}""", Encoding.UTF8, "application/json")), 400);
        var errors = types.GetProperty("errors").EnumerateObject().ToDictionary(e => e.Name, e => e.Value[0].GetString()!);
        Assert.Equal(["holdoutPercent", "schedule.sendAt", "segmentId"], errors.Keys.Order());
        Assert.Equal("must be a whole number.", errors["segmentId"]);
        Assert.Contains("date and time", errors["schedule.sendAt"]);

        var query = await ProblemAsync(await app.Api.GetAsync("/api/customers?limit=lots"), 400);
        Assert.Contains("'lots' is not a whole number", query.GetProperty("errors").GetProperty("limit")[0].GetString());
        var range = await ProblemAsync(await app.Api.GetAsync("/api/customers?limit=5000"), 400);
        Assert.Contains("between 1 and 1000", range.GetProperty("errors").GetProperty("limit")[0].GetString());

        var missing = await ProblemAsync(await app.Api.PostAsync("/api/segments", null), 400);
        Assert.Contains("JSON body", missing.GetProperty("title").GetString());
        var media = await ProblemAsync(await app.Api.PostAsync("/api/segments", new StringContent("name=x", Encoding.UTF8, "text/plain")), 415);
        Assert.Contains("application/json", media.GetProperty("detail").GetString());

        using var anonymous = app.CreateClient();
        var unauthorized = await ProblemAsync(await anonymous.GetAsync("/api/customers"), 401);
        Assert.Contains("Authorization: Bearer", unauthorized.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ATooLargeBatchSaysHowMuchIsTakenAndWhatToDo()
    {
        await using var app = await RetentionApp.StartAsync(DatabaseProvider.Sqlite);
        var customers = Enumerable.Range(1, 10_001).Select(i => new { externalId = $"X{i}", email = $"x{i}@example.com" }).ToArray();
        var problem = await ProblemAsync(await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers }), 413);
        Assert.Contains("too large", problem.GetProperty("title").GetString());
        Assert.Contains("Split it into batches of 10000", problem.GetProperty("errors").GetProperty("customers")[0].GetString());
    }
}
