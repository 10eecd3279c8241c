using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;

namespace RetentionCampaigns.Tests.Metrics;

/// <summary>Hand-computed fixtures for every per-customer metric of DOMAIN.md, on both stores.</summary>
public sealed class MetricsRefreshTests
{
    static readonly DateTimeOffset Now = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    static async Task<RetentionApp> ShopAsync(DatabaseProvider store)
    {
        var app = await RetentionApp.StartAsync(store);
        var customers = new object[]
        {
            new { externalId = "A", email = "a@beispiel.de" }, new { externalId = "B", email = "b@beispiel.de" },
            new { externalId = "C", email = "c@beispiel.de" }, new { externalId = "D", email = "d@beispiel.de" },
            new { externalId = "E", email = "e@beispiel.de", signedUpAt = Now.AddDays(-30) },
        };
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        object Order(string id, string customer, double daysAgo, decimal amount, decimal refunded = 0) =>
            new { externalId = id, customerId = customer, orderedAt = Now.AddDays(-daysAgo), amount, refundedAmount = refunded };
        var orders = new[]
        {
            Order("A1", "A", 10, 100m), Order("A2", "A", 40, 50m, 10m), Order("A3", "A", 400, 30m),
            Order("B1", "B", 200, 20m), Order("C1", "C", 10.2, 80m) /* 5 hours before A1, the same whole day: a tie */, Order("D1", "D", 500, 500m),
            Order("A-future", "A", -3, 999m), // after "now": not part of this evaluation
        };
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        var answers = new object[]
        {
            new { customerId = "A", answeredAt = Now.AddDays(-400), nps = 10 },
            new { customerId = "A", answeredAt = Now.AddDays(-100), nps = 9, csat = 5 },
            new { customerId = "A", answeredAt = Now.AddDays(-50), ces = 4, recommend = 10 },
            new { customerId = "A", answeredAt = Now.AddDays(-20), nps = 6, csat = 3, buyAgain = 8, tryNewProducts = 6 },
            new { customerId = "A", answeredAt = Now.AddDays(-5), ces = 7 },
            new { customerId = "B", answeredAt = Now.AddDays(-10), nps = 8 },
        };
        await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers })).JsonAsync(200);
        return app;
    }

    static async Task<JsonElement> MetricsAsync(RetentionApp app, string id) => await (await app.Api.GetAsync($"/api/metrics/{id}")).JsonAsync(200);

    [Theory, ClassData(typeof(BothStores))]
    public async Task RecencyFrequencyMonetaryAndScoresWithTies(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        var result = await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);
        Assert.Equal(5, result.GetProperty("customers").GetInt32());

        var a = await MetricsAsync(app, "A");
        Assert.Equal((3, 10, 2), (a.GetProperty("orderCount").GetInt32(), a.GetProperty("recencyDays").GetInt32(), a.GetProperty("frequency").GetInt32()));
        Assert.Equal(140.00m, a.GetProperty("monetary").GetDecimal()); // 100 + (50 - 10); the order 400 days ago is outside the window
        Assert.Equal(56.67m, a.GetProperty("aov").GetDecimal());       // (100 + 40 + 30) / 3
        Assert.Equal(400, a.GetProperty("tenureDays").GetInt32());

        // R ranks worst first: D(500d)=1, B(200d)=2, A and C (10d) tie at 3. n = 4, score = 1 + floor(5 (rank-1) / n).
        var scores = new Dictionary<string, (int R, int F, int M, string Group)>();
        foreach (var id in new[] { "A", "B", "C", "D" })
        {
            var m = await MetricsAsync(app, id);
            scores[id] = (m.GetProperty("rScore").GetInt32(), m.GetProperty("fScore").GetInt32(), m.GetProperty("mScore").GetInt32(), m.GetProperty("rfmGroup").GetString()!);
        }
        // F and M rank only A, B and C (an order in the window): frequencies B 1, C 1, A 2; monetary B 20, C 80, A 140.
        // D's only order is outside the window: F 1 and M 1.
        Assert.Equal((3, 4, 4, "Loyal"), scores["A"]);
        Assert.Equal((2, 1, 1, "Hibernating"), scores["B"]);
        Assert.Equal((3, 1, 2, "About to sleep"), scores["C"]);
        Assert.Equal((1, 1, 1, "Hibernating"), scores["D"]);

        var e = await MetricsAsync(app, "E");
        Assert.Equal(0, e.GetProperty("orderCount").GetInt32());
        Assert.Equal(JsonValueKind.Null, e.GetProperty("rScore").ValueKind);
        Assert.Equal(JsonValueKind.Null, e.GetProperty("recencyDays").ValueKind);
        Assert.Equal(JsonValueKind.Null, e.GetProperty("rfmGroup").ValueKind);
        Assert.Equal(30, e.GetProperty("tenureDays").GetInt32()); // from sign-up
        Assert.Equal("unknown", e.GetProperty("npsCategory").GetString());
        Assert.False(e.GetProperty("churned").GetBoolean());
        Assert.True((await MetricsAsync(app, "B")).GetProperty("churned").GetBoolean());  // 200 > 180 days
        Assert.True((await MetricsAsync(app, "D")).GetProperty("churned").GetBoolean());
        Assert.False(a.GetProperty("churned").GetBoolean());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task SatisfactionMetricsUseTheSurveyWindow(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);
        var a = await MetricsAsync(app, "A");
        Assert.Equal((6, "detractor"), (a.GetProperty("npsLast").GetInt32(), a.GetProperty("npsCategory").GetString()));
        Assert.Equal(75.0, a.GetProperty("csatAvg").GetDouble()); // ((5-1)*25 + (3-1)*25) / 2
        Assert.Equal(7, a.GetProperty("cesLast").GetInt32());
        Assert.Equal(8.0, a.GetProperty("loyaltyScore").GetDouble()); // latest buy again 8, try new 6, recommend 10
        var b = await MetricsAsync(app, "B");
        Assert.Equal("passive", b.GetProperty("npsCategory").GetString());
        Assert.Equal(JsonValueKind.Null, b.GetProperty("loyaltyScore").ValueKind);
        Assert.Equal("unknown", (await MetricsAsync(app, "C")).GetProperty("npsCategory").GetString());

        // A year later the answers have left the window.
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now.AddDays(400) })).JsonAsync(200);
        var later = await MetricsAsync(app, "A");
        Assert.Equal("unknown", later.GetProperty("npsCategory").GetString());
        Assert.Equal(JsonValueKind.Null, later.GetProperty("csatAvg").ValueKind);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CustomerLifetimeValueFollowsTheFormula(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        var result = await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);
        // Only A has two orders: lifespan 390 days.
        var lifespan = 390 / 365.25;
        Assert.Equal(lifespan, result.GetProperty("averageLifespanYears").GetDouble(), 9);
        // A: aov 170/3, orders per year 3 / (400/365.25), lifespan 390/365.25: 170 * 390 / 400 = 165.75
        Assert.Equal(165.75m, (await MetricsAsync(app, "A")).GetProperty("clv").GetDecimal());
        // B: tenure 200 days counts as one year: 20 * 1 * lifespan
        Assert.Equal(Math.Round(20m * (decimal)lifespan, 2), (await MetricsAsync(app, "B")).GetProperty("clv").GetDecimal());
        Assert.Equal(JsonValueKind.Null, (await MetricsAsync(app, "E")).GetProperty("clv").ValueKind);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TwoRefreshesAtOnceBothFinishWithTheSameFigures(DatabaseProvider store)
    {
        // The nightly job and a marketer's "refresh now" (or two nodes): PostgreSQL's refresh shares work tables
        // between its connections, so one refresh waits for the other rather than both writing them.
        await using var app = await ShopAsync(store);
        var refreshes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })));
        foreach (var response in refreshes) Assert.Equal(5, (await response.JsonAsync(200)).GetProperty("customers").GetInt32());
        var a = await MetricsAsync(app, "A");
        Assert.Equal((3, 140.00m, "Loyal"), (a.GetProperty("orderCount").GetInt32(), a.GetProperty("monetary").GetDecimal(), a.GetProperty("rfmGroup").GetString()));
        Assert.Equal("Hibernating", (await MetricsAsync(app, "D")).GetProperty("rfmGroup").GetString());
    }

    [Fact]
    public void EveryCellOfTheGridBelongsToTheGroupDomainNames()
    {
        // DOMAIN.md's table, row by row: group, R range, F range.
        var table = new (string Group, int[] R, int[] F)[]
        {
            ("Champions", [5], [4, 5]), ("Loyal", [3, 4], [4, 5]), ("Potential loyalists", [4, 5], [2, 3]),
            ("New customers", [5], [1]), ("Promising", [4], [1]), ("Need attention", [3], [3]), ("About to sleep", [3], [1, 2]),
            ("At risk", [1, 2], [3, 4]), ("Can't lose them", [1, 2], [5]), ("Hibernating", [1, 2], [1, 2]),
        };
        var cells = table.SelectMany(row => row.R.SelectMany(r => row.F.Select(f => (r, f, row.Group)))).ToList();
        Assert.Equal(25, cells.Select(c => (c.r, c.f)).Distinct().Count());
        Assert.Equal(25, cells.Count);
        foreach (var (r, f, group) in cells) Assert.Equal(group, RfmGroups.For(r, f));
    }
}
