using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using RetentionCampaigns.Api;

namespace RetentionCampaigns.Segments;

/// <summary>A parsed, validated rule tree. Paths are JSON paths into the request (e.g. <c>rule.all[2].value</c>).</summary>
public abstract record RuleNode(string Path);
public sealed record GroupNode(string Path, bool All, IReadOnlyList<RuleNode> Children) : RuleNode(Path);
public sealed record NotNode(string Path, RuleNode Child) : RuleNode(Path);
public sealed record ConditionNode(string Path, SegmentField Field, string Op, IReadOnlyList<object> Values) : RuleNode(Path);

/// <summary>"90 days ago", "6 months ago", "today" or a fixed instant, resolved against the evaluation's "now".</summary>
public sealed record DateValue(DateTime? Fixed, int Amount, string Unit)
{
    public DateTime Resolve(DateTime now) => Fixed ?? Unit switch
    {
        "day" => now.AddDays(-Amount),
        "week" => now.AddDays(-7 * Amount),
        "month" => now.AddMonths(-Amount),
        _ => now.AddYears(-Amount),
    };

    public override string ToString() => Fixed is { } at ? at.ToString("O") : Amount == 0 ? "today" : $"{Amount} {Unit}s ago";
}

public static partial class SegmentRule
{
    public const int MaxDepth = 10;
    public const int MaxListValues = 1_000;

    static readonly string[] NumberOps = ["=", "!=", "<", "<=", ">", ">=", "between", "in", "not in", "is empty"];
    static readonly string[] TextOps = ["=", "!=", "in", "not in", "contains", "is empty"];
    static readonly string[] BoolOps = ["=", "!=", "is empty"];
    static readonly string[] DateOps = ["<", "<=", ">", ">=", "between", "is empty"];
    static readonly string[] TagOps = ["contains", "is empty"];

    /// <summary>The operators a field of this type takes.</summary>
    public static IReadOnlyList<string> OpsFor(FieldType type) => type switch
    {
        FieldType.Number => NumberOps, FieldType.Text => TextOps, FieldType.Bool => BoolOps, FieldType.Date => DateOps, _ => TagOps,
    };

    [GeneratedRegex(@"^(\d{1,5}) (day|week|month|year)s? ago$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RelativeDate();

    public static RuleNode? Parse(JsonElement? rule, string path, ValidationErrors errors)
    {
        if (rule is not { ValueKind: JsonValueKind.Object } root)
        {
            errors.Add(path, "is required: an object such as {\"all\": [{\"field\": \"recency_days\", \"op\": \">=\", \"value\": 90}]}.");
            return null;
        }
        return Node(root, path, 1, errors);
    }

    static RuleNode? Node(JsonElement node, string path, int depth, ValidationErrors errors)
    {
        if (node.ValueKind != JsonValueKind.Object) { errors.Add(path, "must be an object: a group (all, any, not) or a condition."); return null; }
        if (depth > MaxDepth) { errors.Add(path, $"nests deeper than {MaxDepth} levels."); return null; }
        var names = node.EnumerateObject().Select(p => p.Name).ToList();
        if (names.Contains("all") || names.Contains("any"))
        {
            var all = names.Contains("all");
            var key = all ? "all" : "any";
            if (names.Count != 1) { errors.Add(path, $"a group has only '{key}'; found: {string.Join(", ", names)}."); return null; }
            var list = node.GetProperty(key);
            if (list.ValueKind != JsonValueKind.Array) { errors.Add($"{path}.{key}", "must be an array of rules."); return null; }
            if (list.GetArrayLength() == 0) { errors.Add($"{path}.{key}", "is an empty group."); return null; }
            var children = list.EnumerateArray().Select((child, i) => Node(child, $"{path}.{key}[{i}]", depth + 1, errors)).ToList();
            return children.Any(c => c is null) ? null : new GroupNode(path, all, children!);
        }
        if (names.Contains("not"))
        {
            if (names.Count != 1) { errors.Add(path, $"a 'not' group has only 'not'; found: {string.Join(", ", names)}."); return null; }
            var child = Node(node.GetProperty("not"), $"{path}.not", depth + 1, errors);
            return child is null ? null : new NotNode(path, child);
        }
        return Condition(node, path, names, errors);
    }

    static ConditionNode? Condition(JsonElement node, string path, List<string> names, ValidationErrors errors)
    {
        var unknown = names.Where(n => n is not ("field" or "op" or "value")).ToList();
        if (unknown.Count > 0) { errors.Add(path, $"unknown key(s) {string.Join(", ", unknown)}: a condition has field, op and value; a group has all, any or not."); return null; }
        if (!node.TryGetProperty("field", out var fieldElement) || fieldElement.ValueKind != JsonValueKind.String)
        { errors.Add($"{path}.field", "is required: a field name such as recency_days."); return null; }
        if (!node.TryGetProperty("op", out var opElement) || opElement.ValueKind != JsonValueKind.String)
        { errors.Add($"{path}.op", "is required: an operator such as >=."); return null; }
        var op = opElement.GetString()!.Trim().ToLowerInvariant();
        node.TryGetProperty("value", out var value);

        var name = fieldElement.GetString()!.Trim();
        SegmentField field;
        if (name.StartsWith(SegmentFields.AttributePrefix, StringComparison.Ordinal) && name.Length > SegmentFields.AttributePrefix.Length)
        {
            var numeric = op is "<" or "<=" or ">" or ">=" or "between" || FirstScalar(value).ValueKind == JsonValueKind.Number;
            field = SegmentFields.Attribute(name[SegmentFields.AttributePrefix.Length..], numeric);
        }
        else if (name.StartsWith(SegmentFields.ReceivedCampaignPrefix, StringComparison.Ordinal))
        {
            if (!long.TryParse(name[SegmentFields.ReceivedCampaignPrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var campaignId) || campaignId <= 0)
            { errors.Add($"{path}.field", $"'{name}': {SegmentFields.ReceivedCampaignPrefix}N needs a campaign id N, e.g. {SegmentFields.ReceivedCampaignPrefix}7."); return null; }
            field = SegmentFields.ReceivedCampaign(campaignId);
        }
        else if (SegmentFields.Known.TryGetValue(name, out var known)) field = known;
        else
        {
            errors.Add($"{path}.field", $"unknown field '{name}'. Known: {string.Join(", ", SegmentFields.Known.Keys)}, attributes.NAME, {SegmentFields.ReceivedCampaignPrefix}CAMPAIGN_ID.");
            return null;
        }

        var allowed = field.Type switch
        {
            FieldType.Number => NumberOps, FieldType.Text => TextOps, FieldType.Bool => BoolOps, FieldType.Date => DateOps, _ => TagOps,
        };
        if (!allowed.Contains(op)) { errors.Add($"{path}.op", $"'{op}' does not apply to {name}; use one of: {string.Join(", ", allowed)}."); return null; }

        var valuePath = $"{path}.value";
        if (op == "is empty")
        {
            if (value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)) { errors.Add(valuePath, "must be left out for 'is empty'."); return null; }
            return new ConditionNode(path, field, op, []);
        }
        List<JsonElement> raw;
        if (op is "between" or "in" or "not in")
        {
            if (value.ValueKind != JsonValueKind.Array) { errors.Add(valuePath, op == "between" ? "must be an array [low, high]." : "must be an array of values."); return null; }
            raw = value.EnumerateArray().ToList();
            if (op == "between" && raw.Count != 2) { errors.Add(valuePath, "must hold exactly two values [low, high]."); return null; }
            if (raw.Count is 0 or > MaxListValues) { errors.Add(valuePath, $"must hold 1 to {MaxListValues} values."); return null; }
        }
        else raw = [value];

        var values = new List<object>();
        for (var i = 0; i < raw.Count; i++)
        {
            var itemPath = raw.Count == 1 && op is not ("in" or "not in") ? valuePath : $"{valuePath}[{i}]";
            if (Scalar(raw[i], field.Type, itemPath, errors) is { } parsed) values.Add(parsed);
        }
        if (values.Count != raw.Count) return null;
        if (field.Values is { } set && op is "=" or "!=" or "in" or "not in")
        {
            // Every wrong value is named, each at its own path.
            var wrong = false;
            for (var i = 0; i < values.Count; i++)
            {
                if (set.Canonical((string)values[i]) is { } canonical) values[i] = canonical;
                else
                {
                    errors.Add(values.Count == 1 && op is not ("in" or "not in") ? valuePath : $"{valuePath}[{i}]", $"'{values[i]}' is not a value of {name}; allowed: {set.Allowed}.");
                    wrong = true;
                }
            }
            if (wrong) return null;
        }
        if (op == "between" && values[0] is double low && values[1] is double high && low > high)
        { errors.Add(valuePath, "low must not exceed high."); return null; }
        return new ConditionNode(path, field, op, values);
    }

    static JsonElement FirstScalar(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().FirstOrDefault() : value;

    static object? Scalar(JsonElement value, FieldType type, string path, ValidationErrors errors)
    {
        switch (type)
        {
            case FieldType.Number when value.ValueKind == JsonValueKind.Number:
                return value.GetDouble();
            case FieldType.Text or FieldType.Tags when value.ValueKind == JsonValueKind.String && value.GetString()!.Length <= 200:
                return value.GetString()!;
            case FieldType.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return value.GetBoolean();
            case FieldType.Date when value.ValueKind == JsonValueKind.String:
                var text = value.GetString()!.Trim();
                if (text.Equals("today", StringComparison.OrdinalIgnoreCase) || text.Equals("now", StringComparison.OrdinalIgnoreCase))
                    return new DateValue(null, 0, "day");
                if (RelativeDate().Match(text) is { Success: true } m)
                    return new DateValue(null, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value.ToLowerInvariant());
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    return new DateValue(at.UtcDateTime, 0, "day");
                errors.Add(path, "must be a date (2025-01-31, 2025-01-31T10:00:00Z) or relative ('90 days ago', '6 months ago', 'today').");
                return null;
        }
        errors.Add(path, type switch
        {
            FieldType.Number => "must be a number.",
            FieldType.Bool => "must be true or false.",
            FieldType.Date => "must be a date string.",
            _ => "must be a string of at most 200 characters.",
        });
        return null;
    }

    /// <summary>Every condition of the tree, in document order.</summary>
    public static IEnumerable<ConditionNode> Conditions(RuleNode node) => node switch
    {
        ConditionNode c => [c],
        NotNode n => Conditions(n.Child),
        GroupNode g => g.Children.SelectMany(Conditions),
        _ => [],
    };
}
