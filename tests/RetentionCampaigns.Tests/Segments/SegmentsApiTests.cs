using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Segments;

public sealed class SegmentsApiTests
{
    static readonly DateTimeOffset Now = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);

    static async Task<RetentionApp> ShopAsync(DatabaseProvider store)
    {
        var app = await RetentionApp.StartAsync(store);
        var customers = new object[]
        {
            new { externalId = "A", email = "a@beispiel.de", locale = "de", tags = new[] { "vip" }, attributes = new { plan = "gold", points = 120 } },
            new { externalId = "B", email = "b@example.com", locale = "en", attributes = new { plan = "silver", points = 20 } },
            new { externalId = "C", email = "c@beispiel.de", locale = "de" },
        };
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var orders = new object[]
        {
            new { externalId = "A1", customerId = "A", orderedAt = Now.AddDays(-5), amount = 200m },
            new { externalId = "A2", customerId = "A", orderedAt = Now.AddDays(-50), amount = 100m },
            new { externalId = "B1", customerId = "B", orderedAt = Now.AddDays(-120), amount = 30m },
            new { externalId = "C1", customerId = "C", orderedAt = Now.AddDays(-300), amount = 500m },
        };
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", new { customerId = "C", answeredAt = Now.AddDays(-10), nps = 2 })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);
        return app;
    }

    static async Task<JsonElement> CreateAsync(RetentionApp app, string name, object rule) =>
        await (await app.Api.PostAsJsonAsync("/api/segments", new { name, rule })).JsonAsync(201);

    [Theory, ClassData(typeof(BothStores))]
    public async Task ASegmentPreviewsItsMembersAndExplainsEachCondition(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        var segment = await CreateAsync(app, "Lapsed Germans", new
        {
            all = new object[]
            {
                new { field = "recency_days", op = ">=", value = 90 },
                new { any = new object[] { new { field = "locale", op = "=", value = "de" }, new { field = "attributes.points", op = ">", value = 100 } } },
                new { not = new { field = "tags", op = "contains", value = "vip" } },
            },
        });
        var id = segment.GetProperty("id").GetInt64();
        var preview = await (await app.Api.GetAsync($"/api/segments/{id}/preview?now={Uri.EscapeDataString(Now.ToString("O"))}")).JsonAsync(200);
        Assert.Equal(1, preview.GetProperty("count").GetInt64());
        Assert.Equal("C", preview.GetProperty("first")[0].GetProperty("externalId").GetString());

        var explainB = await (await app.Api.GetAsync($"/api/segments/{id}/explain/B")).JsonAsync(200);
        Assert.False(explainB.GetProperty("member").GetBoolean());
        var conditions = explainB.GetProperty("conditions").EnumerateArray().ToList();
        Assert.Equal(4, conditions.Count);
        Assert.Equal(("rule.all[0]", 120, true), (conditions[0].GetProperty("path").GetString(), conditions[0].GetProperty("actual").GetInt32(), conditions[0].GetProperty("held").GetBoolean()));
        Assert.Equal(("en", false), (conditions[1].GetProperty("actual").GetString(), conditions[1].GetProperty("held").GetBoolean()));
        Assert.Equal((20, false), (conditions[2].GetProperty("actual").GetInt32(), conditions[2].GetProperty("held").GetBoolean()));

        var explainC = await (await app.Api.GetAsync($"/api/segments/{id}/explain/C")).JsonAsync(200);
        Assert.True(explainC.GetProperty("member").GetBoolean());
        await (await app.Api.GetAsync($"/api/segments/{id}/explain/nobody")).ProblemErrorsAsync(404);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BuiltInSegmentsExistAndAreReadOnly(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        var segments = (await (await app.Api.GetAsync("/api/segments")).JsonAsync(200)).EnumerateArray().ToList();
        Assert.Equal(15, segments.Count(s => s.GetProperty("builtIn").GetBoolean()));
        var detractors = segments.Single(s => s.GetProperty("name").GetString() == "Detractors").GetProperty("id").GetInt64();
        var preview = await (await app.Api.GetAsync($"/api/segments/{detractors}/preview")).JsonAsync(200);
        Assert.Equal(["C"], preview.GetProperty("first").EnumerateArray().Select(m => m.GetProperty("externalId").GetString()));
        Assert.Contains("id", (await (await app.Api.DeleteAsync($"/api/segments/{detractors}")).ProblemErrorsAsync(409)).Keys);
        await (await app.Api.PutAsJsonAsync($"/api/segments/{detractors}", new { name = "Mine" })).ProblemErrorsAsync(409);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ChangingTheRuleMakesANewVersionAndOldVersionsStayReadable(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        var id = (await CreateAsync(app, "Big spenders", new { field = "monetary", op = ">=", value = 250 })).GetProperty("id").GetInt64();
        var renamed = await (await app.Api.PutAsJsonAsync($"/api/segments/{id}", new { description = "Who spends" })).JsonAsync(200);
        Assert.Equal(1, renamed.GetProperty("version").GetInt32());
        var changed = await (await app.Api.PutAsJsonAsync($"/api/segments/{id}", new { rule = new { field = "monetary", op = ">=", value = 100 } })).JsonAsync(200);
        Assert.Equal(2, changed.GetProperty("version").GetInt32());
        var first = await (await app.Api.GetAsync($"/api/segments/{id}/versions/1")).JsonAsync(200);
        Assert.Contains("250", first.GetProperty("rule").GetString());
        await (await app.Api.GetAsync($"/api/segments/{id}/versions/3")).ProblemErrorsAsync(404);
        Assert.Contains("name", (await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "big SPENDERS", rule = new { field = "frequency", op = ">", value = 1 } })).ProblemErrorsAsync(409)).Keys);
        Assert.Equal(HttpStatusCode.NoContent, (await app.Api.DeleteAsync($"/api/segments/{id}")).StatusCode);
        await (await app.Api.GetAsync($"/api/segments/{id}")).ProblemErrorsAsync(404);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadRulesAreRefusedWithTheJsonPathOfTheOffendingNode(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        async Task<string> FirstErrorPath(object rule) =>
            (await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "x", rule })).ProblemErrorsAsync(422)).Keys.Single();

        Assert.Equal("rule.all[1].field", await FirstErrorPath(new { all = new object[] { new { field = "frequency", op = ">", value = 1 }, new { field = "shoe_size", op = "=", value = 42 } } }));
        Assert.Equal("rule.any[0].value", await FirstErrorPath(new { any = new object[] { new { field = "frequency", op = ">", value = "many" } } }));
        Assert.Equal("rule.op", await FirstErrorPath(new { field = "frequency", op = "~", value = 1 }));
        Assert.Equal("rule.op", await FirstErrorPath(new { field = "locale", op = ">", value = "de" }));
        Assert.Equal("rule.all", await FirstErrorPath(new { all = Array.Empty<object>() }));
        Assert.Equal("rule.not.value", await FirstErrorPath(new { not = new { field = "last_order_at", op = "<", value = "a while ago" } }));
        Assert.Equal("rule.value", await FirstErrorPath(new { field = "r_score", op = "between", value = new[] { 5, 1 } }));
        Assert.Equal("rule", await FirstErrorPath(new { field = "frequency", op = ">", value = 1, extra = true }));

        object deep = new { field = "frequency", op = ">", value = 1 };
        for (var i = 0; i < 10; i++) deep = new { not = deep };
        Assert.StartsWith("rule.not.not.not.not.not.not.not.not.not", await FirstErrorPath(deep));
        Assert.Contains("rule", (await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "x" })).ProblemErrorsAsync(422)).Keys);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CustomersWhoObjectedAreNeverMembers(DatabaseProvider store)
    {
        await using var app = await ShopAsync(store);
        await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "A", purpose = "email_marketing", status = "withdrawn", objection = true })).JsonAsync(201);
        var preview = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule = new { field = "frequency", op = ">=", value = 0 }, now = Now })).JsonAsync(200);
        Assert.Equal(["B", "C"], preview.GetProperty("first").EnumerateArray().Select(m => m.GetProperty("externalId").GetString()));
    }
}
