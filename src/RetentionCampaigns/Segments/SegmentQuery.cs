using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Segments;

/// <summary>
/// Compiles a rule to one SQL query over customers and their metrics. A missing value fails a test (it is not
/// "unknown"), so NOT and the in-memory evaluation agree.
/// Customers who objected to direct marketing are never members (GDPR Art. 21(3)).
/// </summary>
public sealed class SegmentQuery
{
    const string From = "FROM customers AS c LEFT JOIN customer_metrics AS m ON m.customer_id = c.id";

    /// <summary>
    /// The customer's current marketing consent: the latest email_marketing event's status ('none' without one), kept
    /// on the customer's row by the database (migration 0027) so that a query tests a column rather than looking the
    /// event up.
    /// </summary>
    public const string MarketingConsent = "c.marketing_consent";

    /// <summary>Whether the latest marketing-consent event withdrew it with an objection, kept beside it (a boolean on
    /// PostgreSQL, 0 or 1 on SQLite: NOT reads both).</summary>
    const string NotObjected = "NOT c.marketing_objected";

    readonly bool postgres;
    readonly DateTime now;
    readonly List<(string Name, object? Value)> parameters = [];

    public string Where { get; }

    public SegmentQuery(RuleNode rule, bool postgres, DateTime now)
    {
        this.postgres = postgres;
        this.now = now;
        Where = $"({Compile(rule)}) AND {NotObjected}";
    }

    // Under AND and OR a NULL (a missing value) already excludes the customer just as FALSE would, so conditions
    // stay plain predicates the planner can estimate; only NOT would turn "unknown" into a match, so its operand
    // is made two-valued first.
    string Compile(RuleNode node) => node switch
    {
        GroupNode g => "(" + string.Join(g.All ? " AND " : " OR ", g.Children.Select(Compile)) + ")",
        NotNode n => $"(NOT COALESCE({Compile(n.Child)}, FALSE))",
        ConditionNode c => $"({Condition(c)})",
        _ => throw new InvalidOperationException(),
    };

    string Condition(ConditionNode c)
    {
        var f = c.Field.Sql(postgres);
        if (c.Field.Type == FieldType.Tags)
            return c.Op == "is empty"
                ? $"({f} IS NULL OR {f} = '[]')"
                : postgres
                    ? $"EXISTS (SELECT 1 FROM jsonb_array_elements_text({f}::jsonb) AS t(v) WHERE t.v = {Add(c.Values[0])})"
                    : $"EXISTS (SELECT 1 FROM json_each({f}) AS t WHERE t.value = {Add(c.Values[0])})";
        return c.Op switch
        {
            "is empty" => c.Field.Type == FieldType.Text ? $"({f} IS NULL OR {f} = '')" : $"{f} IS NULL",
            "=" => $"{f} = {Add(c.Values[0])}",
            "!=" => $"{f} <> {Add(c.Values[0])}",
            "<" or "<=" or ">" or ">=" => $"{f} {c.Op} {Add(c.Values[0])}",
            "between" => $"{f} BETWEEN {Add(c.Values[0])} AND {Add(c.Values[1])}",
            "in" => $"{f} IN ({string.Join(", ", c.Values.Select(Add))})",
            "not in" => $"{f} NOT IN ({string.Join(", ", c.Values.Select(Add))})",
            "contains" => postgres ? $"strpos(lower({f}), lower({Add(c.Values[0])})) > 0" : $"instr(lower({f}), lower({Add(c.Values[0])})) > 0",
            _ => throw new InvalidOperationException($"operator {c.Op}"),
        };
    }

    string Add(object value)
    {
        var name = $"@r{parameters.Count}";
        parameters.Add((name, value switch
        {
            DateValue date => date.Resolve(now),
            // A whole number goes as one: compared with an integer column as a double, PostgreSQL casts the column,
            // and then estimates the condition blindly (a count planned for 556 rows met 95,000).
            double number when double.IsInteger(number) && Math.Abs(number) < 1e15 => (long)number,
            _ => value,
        }));
        return name;
    }

    public DbCommand Command(DbConnection connection, string select, string? suffix = null) =>
        connection.Command($"SELECT {select} {From} WHERE {Where} {suffix}", parameters: parameters);

    /// <summary>Every field value of customers, for explaining a rule and for checking the SQL against the evaluator.</summary>
    /// <param name="rule">Adds the fields only a rule names (campaign ledger fields) to the known ones.</param>
    public static async Task<List<CustomerFacts>> LoadFactsAsync(RetentionDb db, string? externalId, CancellationToken ct, RuleNode? rule = null)
    {
        var postgres = db.IsPostgres;
        var fields = SegmentFields.Known.Values.Where(f => f.Type != FieldType.Tags)
            .Concat(Conditions(rule).Select(c => c.Field).Where(f => f.Name.StartsWith(SegmentFields.ReceivedCampaignPrefix, StringComparison.Ordinal)))
            .DistinctBy(f => f.Name).ToList();
        var select = string.Join(", ", fields.Select(f => f.Sql(postgres)));
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = connection.Command(
                $"SELECT c.id, c.external_id, c.tags, c.attributes, CASE WHEN {NotObjected} THEN 0 ELSE 1 END, {select} {From}"
                + (externalId is null ? "" : " WHERE c.external_id = @id"),
                parameters: externalId is null ? null : [("@id", externalId)]);
            var facts = new List<CustomerFacts>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var values = new Dictionary<string, object?>();
                for (var i = 0; i < fields.Count; i++)
                    values[fields[i].Name] = reader.IsDBNull(i + 5) ? null : Normalise(reader.GetValue(i + 5), fields[i].Type);
                values["tags"] = JsonSerializer.Deserialize<List<string>>(reader.GetString(2)) ?? [];
                facts.Add(new CustomerFacts(reader.GetInt64(0), reader.GetString(1), values,
                    JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(reader.GetString(3)) ?? [], Convert.ToInt32(reader.GetValue(4)) == 1));
            }
            return facts;
        }
        finally { await db.Database.CloseConnectionAsync(); }
    }

    static IEnumerable<ConditionNode> Conditions(RuleNode? node) => node switch
    {
        ConditionNode c => [c],
        GroupNode g => g.Children.SelectMany(Conditions),
        NotNode n => Conditions(n.Child),
        _ => [],
    };

    static object Normalise(object value, FieldType type) => type switch
    {
        FieldType.Number => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        FieldType.Bool => value is bool b ? b : Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0,
        FieldType.Date => value is DateTime d ? DateTime.SpecifyKind(d, DateTimeKind.Utc)
            : DateTime.SpecifyKind(DateTime.Parse((string)value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), DateTimeKind.Utc),
        _ => value.ToString()!,
    };
}

/// <summary>What a rule can test about one customer.</summary>
public sealed record CustomerFacts(long Id, string ExternalId, Dictionary<string, object?> Values, Dictionary<string, JsonElement> Attributes, bool Objected);

/// <summary>A rule evaluated in memory over <see cref="CustomerFacts"/>: the explanation of a decision, step by step.</summary>
public static class SegmentEvaluator
{
    public sealed record ConditionResult(string Path, string Field, string Op, object? Expected, object? Actual, bool Held);

    public static bool Matches(RuleNode rule, CustomerFacts facts, DateTime now) => !facts.Objected && Evaluate(rule, facts, now, null);

    public static bool Evaluate(RuleNode node, CustomerFacts facts, DateTime now, List<ConditionResult>? trace) => node switch
    {
        // Evaluate every child (no short-circuit) so an explanation lists every condition.
        GroupNode g => g.All
            ? g.Children.Select(c => Evaluate(c, facts, now, trace)).ToList().All(x => x)
            : g.Children.Select(c => Evaluate(c, facts, now, trace)).ToList().Any(x => x),
        NotNode n => !Evaluate(n.Child, facts, now, trace),
        ConditionNode c => Record(c, facts, now, trace),
        _ => false,
    };

    static bool Record(ConditionNode c, CustomerFacts facts, DateTime now, List<ConditionResult>? trace)
    {
        var actual = Value(c.Field, facts);
        var held = Holds(c, actual, now);
        trace?.Add(new ConditionResult(c.Path, c.Field.Name, c.Op,
            c.Values.Count switch { 0 => null, 1 when c.Op is not ("in" or "not in") => Show(c.Values[0], now), _ => c.Values.Select(v => Show(v, now)).ToList() },
            actual, held));
        return held;
    }

    static object Show(object value, DateTime now) => value is DateValue d ? d.Resolve(now) : value;

    static object? Value(SegmentField field, CustomerFacts facts)
    {
        if (!field.Name.StartsWith(SegmentFields.AttributePrefix, StringComparison.Ordinal)) return facts.Values[field.Name];
        if (!facts.Attributes.TryGetValue(field.Name[SegmentFields.AttributePrefix.Length..], out var json)) return null;
        return (field.Type, json.ValueKind) switch
        {
            (FieldType.Number, JsonValueKind.Number) => json.GetDouble(),
            (FieldType.Text, JsonValueKind.String) => json.GetString(),
            (FieldType.Text, JsonValueKind.Number) => json.GetRawText(),
            (FieldType.Text, JsonValueKind.True) => "true",
            (FieldType.Text, JsonValueKind.False) => "false",
            _ => null,
        };
    }

    static bool Holds(ConditionNode c, object? actual, DateTime now)
    {
        if (c.Op == "is empty")
            return actual is null || actual is "" || actual is List<string> { Count: 0 };
        if (actual is null) return false;
        if (actual is List<string> tags) return tags.Contains((string)c.Values[0], StringComparer.Ordinal);
        var expected = c.Values.Select(v => v is DateValue d ? (object)d.Resolve(now) : v).ToList();
        return c.Op switch
        {
            "=" => Compare(actual, expected[0]) == 0,
            "!=" => Compare(actual, expected[0]) != 0,
            "<" => Compare(actual, expected[0]) < 0,
            "<=" => Compare(actual, expected[0]) <= 0,
            ">" => Compare(actual, expected[0]) > 0,
            ">=" => Compare(actual, expected[0]) >= 0,
            "between" => Compare(actual, expected[0]) >= 0 && Compare(actual, expected[1]) <= 0,
            "in" => expected.Any(e => Compare(actual, e) == 0),
            "not in" => expected.All(e => Compare(actual, e) != 0),
            "contains" => ((string)actual).Contains((string)expected[0], StringComparison.OrdinalIgnoreCase),
            _ => false,
        };
    }

    static int Compare(object actual, object expected) => (actual, expected) switch
    {
        (double a, double e) => a.CompareTo(e),
        (string a, string e) => string.CompareOrdinal(a, e),
        (bool a, bool e) => a.CompareTo(e),
        (DateTime a, DateTime e) => a.CompareTo(e),
        _ => throw new InvalidOperationException($"cannot compare {actual.GetType().Name} with {expected.GetType().Name}"),
    };
}
