using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>
/// Issue 15, findings 7 and 8: "New customers" and "Promising" were always empty (frequency ties lifted one-order
/// customers to F 4), and <c>churned</c> disagreed with the KPIs by a day. DOMAIN.md's worked example, exactly.
/// </summary>
public sealed class RfmScoringTests
{
    static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The worked example of F: A and B have no order in the window, C-F one, G and H two, I three, J six.</summary>
    static async Task<RetentionApp> WorkedExampleAsync(DatabaseProvider store, IReadOnlyDictionary<string, string>? settings = null)
    {
        var app = await RetentionApp.StartAsync(store, settings);
        var counts = new Dictionary<string, int> { ["A"] = 0, ["B"] = 0, ["C"] = 1, ["D"] = 1, ["E"] = 1, ["F"] = 1, ["G"] = 2, ["H"] = 2, ["I"] = 3, ["J"] = 6 };
        var customers = counts.Keys.Select(id => new { externalId = id, email = $"{id.ToLowerInvariant()}@beispiel.de" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var orders = new List<object>();
        foreach (var (id, count) in counts)
        {
            // A and B bought only before the window; C's single order is yesterday (R 5); the others spread over the year.
            if (count == 0) orders.Add(new { externalId = $"{id}-old", customerId = id, orderedAt = Now.AddDays(-400), amount = 30m });
            for (var n = 0; n < count; n++)
                orders.Add(new { externalId = $"{id}-{n}", customerId = id, orderedAt = Now.AddDays(id == "C" ? -1 : -(20 + 40 * n + id[0] - 'A')), amount = 25m });
        }
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);
        return app;
    }

    static async Task<Dictionary<string, JsonElement>> MetricsAsync(RetentionApp app, IEnumerable<string> ids)
    {
        var result = new Dictionary<string, JsonElement>();
        foreach (var id in ids) result[id] = await (await app.Api.GetAsync($"/api/metrics/{id}")).JsonAsync(200);
        return result;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task FrequencyIsRankedOnlyAmongCustomersWithAnOrderInTheWindowAsDomainsWorkedExampleSays(DatabaseProvider store)
    {
        await using var app = await WorkedExampleAsync(store);
        var metrics = await MetricsAsync(app, "ABCDEFGHIJ".Select(c => c.ToString()));
        Assert.Equal([1, 1, 1, 1, 1, 1, 3, 3, 4, 5], "ABCDEFGHIJ".Select(c => metrics[c.ToString()].GetProperty("fScore").GetInt32()));
        Assert.Equal(1, metrics["A"].GetProperty("mScore").GetInt32());
        Assert.Equal((5, "New customers"), (metrics["C"].GetProperty("rScore").GetInt32(), metrics["C"].GetProperty("rfmGroup").GetString()));
        // The built-in segment finds C.
        var segments = await (await app.Api.GetAsync("/api/segments")).JsonAsync(200);
        var newCustomers = segments.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "New customers").GetProperty("id").GetInt64();
        var preview = await (await app.Api.GetAsync($"/api/segments/{newCustomers}/preview?now={Uri.EscapeDataString(Now.ToString("O"))}")).JsonAsync(200);
        Assert.Contains("C", preview.GetProperty("first").EnumerateArray().Select(m => m.GetProperty("externalId").GetString()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task WithFrequencyThresholdsFCountsTheThresholdsReached(DatabaseProvider store)
    {
        await using var app = await WorkedExampleAsync(store, new Dictionary<string, string> { ["Metrics:FrequencyThresholds"] = "2,3,5,8" });
        var metrics = await MetricsAsync(app, "ABCDEFGHIJ".Select(c => c.ToString()));
        Assert.Equal([1, 1, 1, 1, 1, 1, 2, 2, 3, 4], "ABCDEFGHIJ".Select(c => metrics[c.ToString()].GetProperty("fScore").GetInt32()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ChurnedAgreesWithTheKpisAtTheSameInstantHalfADayPastTheEdge(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = new[] { new { externalId = "LATE", email = "late@beispiel.de" }, new { externalId = "EDGE", email = "edge@beispiel.de" } };
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var orders = new object[]
        {
            new { externalId = "L0", customerId = "LATE", orderedAt = Now.AddDays(-300), amount = 20m },
            new { externalId = "L1", customerId = "LATE", orderedAt = Now.AddDays(-180.5), amount = 20m },
            new { externalId = "E0", customerId = "EDGE", orderedAt = Now.AddDays(-300), amount = 20m },
            new { externalId = "E1", customerId = "EDGE", orderedAt = Now.AddDays(-180), amount = 20m }, // exactly on the edge: still active
        };
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);

        var late = await (await app.Api.GetAsync("/api/metrics/LATE")).JsonAsync(200);
        Assert.Equal(180, late.GetProperty("recencyDays").GetInt32());
        Assert.True(late.GetProperty("churned").GetBoolean());
        Assert.False((await (await app.Api.GetAsync("/api/metrics/EDGE")).JsonAsync(200)).GetProperty("churned").GetBoolean());

        // The KPIs over a period ending now: both were active at its start; LATE is lost at its end, EDGE is not.
        var kpis = await (await app.Api.GetAsync($"/api/kpis?start={Uri.EscapeDataString(Now.AddDays(-30).ToString("O"))}&end={Uri.EscapeDataString(Now.ToString("O"))}")).JsonAsync(200);
        var churn = kpis.GetProperty("churnRate");
        Assert.Equal((1.0, 2.0), (churn.GetProperty("numerator").GetDouble(), churn.GetProperty("denominator").GetDouble()));
        // The segment field reads the same.
        var churned = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule = new { field = "churned", op = "=", value = true }, now = Now })).JsonAsync(200);
        Assert.Equal(["LATE"], churned.GetProperty("first").EnumerateArray().Select(m => m.GetProperty("externalId").GetString()));
    }
}
