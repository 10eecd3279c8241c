using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Tests.Segments;

/// <summary>
/// For many random rule trees over random customers, the SQL a rule compiles to selects exactly the customers
/// the independent in-memory evaluation accepts, on both stores.
/// </summary>
public sealed class SegmentPropertyTests
{
    static readonly DateTimeOffset Now = new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero);
    static readonly string[] Tags = ["vip", "newsletter", "b2b"];
    static readonly string[] Plans = ["gold", "silver", "bronze"];

    static readonly Dictionary<string, object[]> Values = new()
    {
        ["recency_days"] = [0, 5, 30, 90, 180, 365], ["frequency"] = [0, 1, 2, 3, 5], ["monetary"] = [0, 20, 99.5, 250, 1000],
        ["aov"] = [10, 50, 120], ["clv"] = [0, 100, 500], ["order_count"] = [0, 1, 2, 4], ["tenure_days"] = [30, 200, 400, 800],
        ["r_score"] = [1, 2, 3, 4, 5], ["f_score"] = [1, 3, 5], ["m_score"] = [1, 2, 4, 5], ["nps_last"] = [0, 6, 7, 9, 10],
        ["csat_avg"] = [0, 50, 75, 100], ["ces_last"] = [1, 4, 7], ["loyalty_score"] = [3, 5.5, 8],
        ["rfm_group"] = ["Champions", "Loyal", "At risk", "Hibernating", "About to sleep", "New customers"],
        ["nps_category"] = ["promoter", "passive", "detractor", "unknown"], ["locale"] = ["de", "en"], ["country"] = ["DE", "GB", "AT"],
        ["consent.email_marketing"] = ["granted", "withdrawn", "none"], ["consent.tracking"] = ["granted", "none"],
        ["consent.referral_program"] = ["granted", "none"], ["churned"] = [true, false],
        ["last_order_at"] = ["30 days ago", "6 months ago", "1 year ago", "2024-01-01"], ["first_order_at"] = ["90 days ago", "2 years ago"],
        ["signed_up_at"] = ["1 year ago", "2023-06-01T12:00:00Z"], ["tags"] = Tags,
        ["attributes.plan"] = Plans, ["attributes.points"] = [0, 50, 100, 150],
    };

    static readonly Dictionary<string, string[]> Ops = new()
    {
        ["number"] = ["=", "!=", "<", "<=", ">", ">=", "between", "in", "not in", "is empty"],
        ["text"] = ["=", "!=", "in", "not in", "contains", "is empty"],
        ["bool"] = ["=", "!=", "is empty"],
        ["date"] = ["<", "<=", ">", ">=", "between", "is empty"],
        ["tags"] = ["contains", "is empty"],
    };

    static string Kind(string field) => field switch
    {
        "churned" => "bool",
        "tags" => "tags",
        "last_order_at" or "first_order_at" or "signed_up_at" => "date",
        _ when Values[field][0] is string => "text",
        _ => "number",
    };

    static object RandomRule(Random random, int depth)
    {
        var roll = random.Next(depth >= 3 ? 1 : 4);
        if (roll == 1) return new Dictionary<string, object> { ["all"] = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomRule(random, depth + 1)).ToList() };
        if (roll == 2) return new Dictionary<string, object> { ["any"] = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomRule(random, depth + 1)).ToList() };
        if (roll == 3) return new Dictionary<string, object> { ["not"] = RandomRule(random, depth + 1) };

        var field = Values.Keys.ElementAt(random.Next(Values.Count));
        var choices = Values[field];
        var op = Ops[Kind(field)][random.Next(Ops[Kind(field)].Length)];
        var condition = new Dictionary<string, object> { ["field"] = field, ["op"] = op };
        object Pick() => choices[random.Next(choices.Length)];
        switch (op)
        {
            case "is empty": break;
            case "between":
                var pair = new[] { Pick(), Pick() };
                if (pair[0] is not string) pair = pair.OrderBy(Convert.ToDouble).ToArray();
                condition["value"] = pair;
                break;
            case "in" or "not in": condition["value"] = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Pick()).ToArray(); break;
            case "contains" when Kind(field) == "text": condition["value"] = ((string)Pick())[..2]; break;
            default: condition["value"] = Pick(); break;
        }
        return condition;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task SqlAndInMemoryEvaluationAgreeOnRandomRules(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var random = new Random(7);
        var customers = Enumerable.Range(1, 80).Select(i => new
        {
            externalId = $"P{i}", email = $"p{i}@beispiel.de",
            locale = random.Next(2) == 0 ? "de" : "en", country = new[] { "DE", "GB", "AT" }[random.Next(3)],
            signedUpAt = random.Next(4) == 0 ? (DateTimeOffset?)null : Now.AddDays(-random.Next(10, 900)),
            tags = Tags.Where(_ => random.Next(3) == 0).ToArray(),
            attributes = random.Next(3) == 0 ? new Dictionary<string, object>()
                : new Dictionary<string, object> { ["plan"] = Plans[random.Next(3)], ["points"] = random.Next(4) == 0 ? "lots" : random.Next(0, 200) },
        }).ToList();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var orders = customers.SelectMany((c, i) => Enumerable.Range(0, random.Next(0, 5)).Select(n => new
        {
            externalId = $"{c.externalId}-{n}", customerId = c.externalId, orderedAt = Now.AddDays(-random.Next(0, 700)).AddMinutes(random.Next(1440)),
            amount = random.Next(5, 400) + 0.5m,
        })).ToList();
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        var answers = customers.Where(_ => random.Next(2) == 0).Select(c => new
        {
            customerId = c.externalId, answeredAt = Now.AddDays(-random.Next(1, 500)), nps = random.Next(0, 11),
            csat = random.Next(2) == 0 ? (int?)random.Next(1, 6) : null, ces = random.Next(1, 8), recommend = random.Next(1, 11),
        }).ToList();
        await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers })).JsonAsync(200);
        foreach (var c in customers.Where(_ => random.Next(3) == 0))
        {
            var granted = random.Next(3) > 0;
            await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = c.externalId, purpose = "email_marketing",
                status = granted ? "granted" : "withdrawn", lawfulBasis = "consent", objection = !granted && random.Next(2) == 0 ? true : (bool?)null })).JsonAsync(201);
        }
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { now = Now })).JsonAsync(200);

        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RetentionDb>();
        var facts = await SegmentQuery.LoadFactsAsync(db, null, default);
        Assert.Equal(80, facts.Count);
        var now = Now.UtcDateTime;
        int nonTrivial = 0;
        for (var round = 0; round < 250; round++)
        {
            var json = JsonSerializer.SerializeToElement(RandomRule(random, 0));
            var errors = new ValidationErrors();
            var rule = SegmentRule.Parse(json, "rule", errors);
            Assert.True(rule is not null, $"generated rule was refused: {string.Join("; ", errors.Messages)} in {json}");

            var expected = facts.Where(f => SegmentEvaluator.Matches(rule!, f, now)).Select(f => f.Id).Order().ToList();
            var actual = new List<long>();
            await db.Database.OpenConnectionAsync();
            await using (var command = new SegmentQuery(rule!, db.IsPostgres, now).Command(db.Database.GetDbConnection(), "c.id"))
            await using (var reader = await command.ExecuteReaderAsync())
                while (await reader.ReadAsync()) actual.Add(reader.GetInt64(0));
            await db.Database.CloseConnectionAsync();
            Assert.True(expected.SequenceEqual(actual.Order()), $"rule {json}: in memory {expected.Count} customers, SQL {actual.Count}");
            if (expected.Count is > 0 and < 80) nonTrivial++;
        }
        Assert.True(nonTrivial > 100, $"only {nonTrivial} of 250 rules split the customers; the generator is too weak");
    }
}
