using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Kpis;

/// <summary>DOMAIN.md's worked examples and hand-computed fixtures for every KPI, on both stores.</summary>
public sealed class KpisApiTests
{
    const string Period = "start=2025-01-01T00:00:00Z&end=2025-07-01T00:00:00Z";

    static async Task AddCustomersAsync(RetentionApp app, IEnumerable<string> ids) =>
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = ids.Select(id => new { externalId = id, email = $"{id.ToLowerInvariant()}@beispiel.de" }) })).JsonAsync(200);

    static object Order(string id, string customer, string at, decimal amount, string? category = null) => new
    {
        externalId = id, customerId = customer, orderedAt = at, amount,
        lines = category is null ? null : new[] { new { sku = category, category } },
    };

    static async Task<JsonElement> KpisAsync(RetentionApp app) => await (await app.Api.GetAsync($"/api/kpis?{Period}")).JsonAsync(200);

    static double? Value(JsonElement kpis, string name) =>
        kpis.GetProperty(name).GetProperty("value") is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    [Theory, ClassData(typeof(BothStores))]
    public async Task NpsOfTheWorkedExampleIs30(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        int[] scores = [10, 10, 9, 9, 9, 8, 7, 7, 3, 0];
        await AddCustomersAsync(app, scores.Select((_, i) => $"N{i}"));
        var answers = scores.Select((s, i) => (object)new { customerId = $"N{i}", answeredAt = "2025-03-01T00:00:00Z", nps = s }).ToList();
        answers.Add(new { customerId = "N0", answeredAt = "2025-02-01T00:00:00Z", nps = 0 });  // earlier: only the latest counts
        answers.Add(new { customerId = "N1", answeredAt = "2024-12-01T00:00:00Z", nps = 0 });  // before the period
        await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers })).JsonAsync(200);
        Assert.Equal(30.0, Value(await KpisAsync(app), "nps"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task RevenueRetentionOf100Then80Is80Percent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await AddCustomersAsync(app, ["X", "Y"]);
        var orders = new[] { Order("X1", "X", "2024-10-01T00:00:00Z", 100m), Order("X2", "X", "2025-02-01T00:00:00Z", 80m), Order("Y1", "Y", "2025-02-01T00:00:00Z", 500m) };
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        Assert.Equal(80.0, Value(await KpisAsync(app), "revenueRetention"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task RetentionAndChurnOfTheWorkedExample(DatabaseProvider store)
    {
        // S = 200 active at start; 160 of them buy again, 40 do not; 30 new customers buy in the period: E = 190, N = 30.
        await using var app = await RetentionApp.StartAsync(store);
        await AddCustomersAsync(app, Enumerable.Range(1, 230).Select(i => $"K{i}"));
        var orders = new List<object>();
        for (var i = 1; i <= 200; i++) orders.Add(Order($"S{i}", $"K{i}", "2024-12-01T00:00:00Z", 10m));
        for (var i = 1; i <= 160; i++) orders.Add(Order($"R{i}", $"K{i}", "2025-03-01T00:00:00Z", 10m));
        for (var i = 201; i <= 230; i++) orders.Add(Order($"N{i}", $"K{i}", "2025-04-01T00:00:00Z", 10m));
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);

        var kpis = await KpisAsync(app);
        Assert.Equal(80.0, Value(kpis, "retentionRate"));
        Assert.Equal(200, kpis.GetProperty("retentionRate").GetProperty("denominator").GetDouble());
        Assert.Equal(20.0, Value(kpis, "churnRate"));
        Assert.Equal(Math.Round(100.0 * 160 / 230, 1), Value(kpis, "repeatPurchaseRate"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task UpsellCsatAndLoyalty(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await AddCustomersAsync(app, ["U", "V", "W"]);
        var orders = new[]
        {
            Order("U1", "U", "2024-11-01T00:00:00Z", 10m, "Kaffee"), Order("U2", "U", "2025-02-01T00:00:00Z", 10m, "Tee"),
            Order("V1", "V", "2024-11-01T00:00:00Z", 10m, "Kaffee"), Order("V2", "V", "2025-02-01T00:00:00Z", 10m, "Kaffee"),
            Order("W1", "W", "2025-02-01T00:00:00Z", 10m, "Tee"), // new customer: not part of the upsell base
        };
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        var answers = new object[]
        {
            new { customerId = "U", answeredAt = "2025-02-01T00:00:00Z", csat = 5, buyAgain = 8, tryNewProducts = 6, recommend = 10 },
            new { customerId = "V", answeredAt = "2025-02-01T00:00:00Z", csat = 4, recommend = 4 },
            new { customerId = "W", answeredAt = "2025-02-01T00:00:00Z", csat = 3 },
            new { customerId = "W", answeredAt = "2025-03-01T00:00:00Z", csat = 2 },
            new { customerId = "V", answeredAt = "2024-06-01T00:00:00Z", csat = 1, recommend = 1 }, // before the period
        };
        await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers })).JsonAsync(200);

        var kpis = await KpisAsync(app);
        Assert.Equal(50.0, Value(kpis, "upsellRate"));
        Assert.Equal(50.0, Value(kpis, "csat"));        // 5 and 4 of 5, 4, 3, 2
        Assert.Equal(6.0, Value(kpis, "loyaltyRate"));  // U: (8 + 6 + 10) / 3 = 8, V: 4
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnEmptyShopHasNoValuesAndBadPeriodsAreNamed(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var kpis = await KpisAsync(app);
        foreach (var name in new[] { "churnRate", "retentionRate", "revenueRetention", "repeatPurchaseRate", "upsellRate", "nps", "csat", "loyaltyRate" })
            Assert.Null(Value(kpis, name));

        Assert.Contains("start", (await (await app.Api.GetAsync("/api/kpis?end=2025-01-01")).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("end", (await (await app.Api.GetAsync("/api/kpis?start=2025-02-01&end=2025-01-01")).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("start", (await (await app.Api.GetAsync("/api/kpis?start=soon&end=2025-01-01")).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("from", (await (await app.Api.GetAsync("/api/kpis/monthly?from=2025-13&to=2025-12")).ProblemErrorsAsync(400)).Keys);

        var series = await (await app.Api.GetAsync("/api/kpis/monthly?from=2025-01&to=2025-03")).JsonAsync(200);
        Assert.Equal(["2025-01", "2025-02", "2025-03"], series.EnumerateArray().Select(m => m.GetProperty("month").GetString()));
        // Months are calendar months in the shop's time zone (Europe/Berlin).
        Assert.Equal(new DateTime(2024, 12, 31, 23, 0, 0, DateTimeKind.Utc), series[0].GetProperty("kpis").GetProperty("start").GetDateTime().ToUniversalTime());
    }
}
