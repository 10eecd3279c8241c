using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Pages.Segments;

/// <summary>
/// One line of the visual rule builder, posted as a flat list in document order: a group ("all", "any", "none")
/// or a condition, its depth giving the tree. Values are the texts of the form's inputs; the rule's own parser
/// judges them, so the builder and the API refuse the same things with the same words.
/// </summary>
public sealed class RuleLine
{
    public string Kind { get; set; } = "all";
    public int Depth { get; set; }
    public string? Field { get; set; }
    /// <summary>The attribute's name when the field is a custom attribute.</summary>
    public string? Attribute { get; set; }
    public string? Op { get; set; }
    public string? Value { get; set; }
    public string? Value2 { get; set; }
    /// <summary>For relative dates: "day", "week", "month", "year" (the value is the amount); empty when the value is a date.</summary>
    public string? Unit { get; set; }
    public string? Unit2 { get; set; }
    /// <summary>Checked values of a closed set for "in" and "not in".</summary>
    public List<string> Choices { get; set; } = [];

    public bool IsGroup => Kind is "all" or "any" or "none";
}

/// <summary>A field as the builder offers it: its name in the rule, its type, its topic, the operators that fit it.</summary>
public sealed record BuilderField(string Name, string Label, string Topic, FieldType Type, IReadOnlyList<string>? Choices)
{
    public IReadOnlyList<string> Ops => Type switch
    {
        FieldType.Number => ["=", "!=", "<", "<=", ">", ">=", "between", "is empty"],
        FieldType.Text when Choices is not null => ["=", "!=", "in", "not in", "is empty"],
        FieldType.Text => ["=", "!=", "in", "not in", "contains", "is empty"],
        FieldType.Bool => ["="],
        FieldType.Date => ["<", ">", "between", "is empty"],
        _ => ["contains", "is empty"],
    };
}

public static class RuleForm
{
    public const string AttributeField = "attributes.";
    public static readonly string[] Units = ["day", "week", "month", "year"];

    /// <summary>The known fields by topic, as a marketer thinks of them; campaigns add "received campaign N".</summary>
    public static IReadOnlyList<BuilderField> Fields(IEnumerable<(long Id, string Name)> campaigns)
    {
        BuilderField F(string name, string label, string topic) =>
            new(name, label, topic, SegmentFields.Known[name].Type, SegmentFields.Known[name].Values is null ? null : ClosedValues(name));
        return
        [
            F("recency_days", "Days since the last order", "Purchases"), F("last_order_at", "Last order", "Purchases"),
            F("first_order_at", "First order", "Purchases"), F("frequency", "Orders in the window", "Purchases"),
            F("order_count", "Orders in all", "Purchases"), F("monetary", "Revenue in the window", "Purchases"),
            F("aov", "Average order value", "Purchases"), F("clv", "Customer lifetime value", "Purchases"), F("tenure_days", "Days since the first order", "Purchases"),
            F("rfm_group", "RFM group", "RFM"), F("r_score", "R score", "RFM"), F("f_score", "F score", "RFM"), F("m_score", "M score", "RFM"),
            F("churned", "Churned", "RFM"),
            F("nps_category", "NPS category", "Satisfaction"), F("nps_last", "Latest NPS answer", "Satisfaction"),
            F("csat_avg", "Average CSAT", "Satisfaction"), F("ces_last", "Latest CES answer", "Satisfaction"), F("loyalty_score", "Loyalty score", "Satisfaction"),
            F("consent.email_marketing", "Consent to marketing e-mail", "Consent"), F("consent.tracking", "Consent to tracking", "Consent"),
            F("consent.referral_program", "Consent to the referral programme", "Consent"),
            F("signed_up_at", "Signed up", "Profile"), F("country", "Country", "Profile"), F("locale", "Language", "Profile"), F("tags", "Tags", "Profile"),
            new(AttributeField, "Custom attribute", "Profile", FieldType.Text, null),
            F("last_marketing_email_at", "Last marketing e-mail", "E-mails"),
            .. campaigns.Select(c => new BuilderField(SegmentFields.ReceivedCampaignPrefix + c.Id.ToString(CultureInfo.InvariantCulture),
                $"Received “{c.Name}”", "E-mails", FieldType.Date, null)),
        ];
    }

    static IReadOnlyList<string> ClosedValues(string field) => field switch
    {
        "rfm_group" => Metrics.RfmGroups.All,
        "nps_category" => SegmentFields.NpsCategories,
        "locale" => Templates.LocaleFormat.Supported,
        _ when field.StartsWith("consent.", StringComparison.Ordinal) => SegmentFields.ConsentStates,
        _ => [],
    };

    public static BuilderField? Find(IReadOnlyList<BuilderField> fields, RuleLine line) =>
        fields.FirstOrDefault(f => f.Name == line.Field) ?? (line.Field?.StartsWith(AttributeField, StringComparison.Ordinal) == true ? fields.First(f => f.Name == AttributeField) : null);

    /// <summary>The starting point of a new segment: "all of" with one condition.</summary>
    public static List<RuleLine> Empty() => [new RuleLine { Kind = "all" }, NewCondition(1)];

    public static RuleLine NewCondition(int depth) => new() { Kind = "condition", Depth = depth, Field = "recency_days", Op = ">=", Value = "90" };

    /// <summary>The lines of a stored rule. A "not" of an "any" group reads as "none of".</summary>
    public static List<RuleLine> FromJson(JsonElement rule)
    {
        var lines = new List<RuleLine>();
        Add(rule, 0);
        if (lines.Count == 0 || !lines[0].IsGroup) { foreach (var line in lines) line.Depth++; lines.Insert(0, new RuleLine { Kind = "all" }); }
        return lines;

        void Add(JsonElement node, int depth)
        {
            if (node.ValueKind != JsonValueKind.Object) return;
            if (node.TryGetProperty("all", out var all) || node.TryGetProperty("any", out all))
            {
                lines.Add(new RuleLine { Kind = node.TryGetProperty("all", out _) ? "all" : "any", Depth = depth });
                if (all.ValueKind == JsonValueKind.Array) foreach (var child in all.EnumerateArray()) Add(child, depth + 1);
                return;
            }
            if (node.TryGetProperty("not", out var not))
            {
                lines.Add(new RuleLine { Kind = "none", Depth = depth });
                if (not.ValueKind == JsonValueKind.Object && not.TryGetProperty("any", out var any) && any.ValueKind == JsonValueKind.Array)
                    foreach (var child in any.EnumerateArray()) Add(child, depth + 1);
                else Add(not, depth + 1);
                return;
            }
            var line = new RuleLine { Kind = "condition", Depth = depth };
            if (node.TryGetProperty("field", out var field) && field.ValueKind == JsonValueKind.String) line.Field = field.GetString();
            if (line.Field?.StartsWith(AttributeField, StringComparison.Ordinal) == true)
                (line.Attribute, line.Field) = (line.Field[AttributeField.Length..], AttributeField);
            if (node.TryGetProperty("op", out var op) && op.ValueKind == JsonValueKind.String) line.Op = op.GetString();
            if (node.TryGetProperty("value", out var value))
            {
                var values = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(Text).ToList() : [Text(value)];
                if (line.Op is "in" or "not in") { line.Choices = values; line.Value = string.Join(", ", values); }
                else
                {
                    line.Value = values.ElementAtOrDefault(0);
                    line.Value2 = values.ElementAtOrDefault(1);
                }
                (line.Value, line.Unit) = Relative(line.Value);
                (line.Value2, line.Unit2) = Relative(line.Value2);
            }
            lines.Add(line);
        }

        static string Text(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetDouble().ToString(CultureInfo.InvariantCulture),
            _ => value.GetRawText(),
        };

        static (string?, string?) Relative(string? text)
        {
            var parts = text?.Split(' ');
            return parts is [var amount, var unit, "ago"] && int.TryParse(amount, CultureInfo.InvariantCulture, out _)
                ? (amount, unit.TrimEnd('s'))
                : (text, null);
        }
    }

    /// <summary>The rule as JSON, and for each line the JSON path the parser names in its errors.</summary>
    public static (JsonNode? Rule, string[] Paths) ToJson(IReadOnlyList<RuleLine> lines, IReadOnlyList<BuilderField> fields)
    {
        var paths = new string[lines.Count];
        if (lines.Count == 0) return (null, paths);
        var index = 0;
        var rule = Build("rule");
        return (rule, paths);

        JsonNode Build(string path)
        {
            var at = index++;
            var line = lines[at];
            paths[at] = path;
            if (!line.IsGroup) return Condition(line);
            var children = new List<JsonNode>();
            var childKey = line.Kind == "none" ? "any" : line.Kind;
            while (index < lines.Count && lines[index].Depth > line.Depth)
            {
                // A line deeper than a direct child (a posted form out of step) is read as a direct child.
                var childPath = line.Kind == "none" ? $"{path}.not.any[{children.Count}]" : $"{path}.{childKey}[{children.Count}]";
                children.Add(Build(childPath));
            }
            var array = new JsonArray([.. children]);
            if (line.Kind != "none") return new JsonObject { [childKey] = array };
            if (children.Count == 1)
            {
                // "none of" one condition is plain "not": its child's path is then rule.not.
                Retarget(at + 1, $"{path}.not.any[0]", $"{path}.not");
                array.Clear();
                return new JsonObject { ["not"] = children[0] };
            }
            return new JsonObject { ["not"] = new JsonObject { ["any"] = array } };
        }

        void Retarget(int from, string oldPrefix, string newPrefix)
        {
            for (var i = from; i < index; i++)
                if (paths[i] is { } p && p.StartsWith(oldPrefix, StringComparison.Ordinal)) paths[i] = newPrefix + p[oldPrefix.Length..];
        }

        JsonNode Condition(RuleLine line)
        {
            var field = Find(fields, line);
            var name = field?.Name == AttributeField ? AttributeField + line.Attribute?.Trim() : line.Field ?? "";
            var op = line.Op ?? "";
            var condition = new JsonObject { ["field"] = name, ["op"] = op };
            if (op == "is empty") return condition;
            var type = field?.Type ?? FieldType.Text;
            var numericAttribute = field?.Name == AttributeField && op is "<" or "<=" or ">" or ">=" or "between";
            JsonNode? One(string? text, string? unit) => type switch
            {
                FieldType.Number => Number(text),
                FieldType.Bool => text is "true" or "false" ? JsonValue.Create(text == "true") : JsonValue.Create(text ?? ""),
                FieldType.Date when !string.IsNullOrWhiteSpace(unit) && Units.Contains(unit) => JsonValue.Create($"{text?.Trim()} {unit}s ago"),
                _ when numericAttribute => Number(text),
                _ => JsonValue.Create(text?.Trim() ?? ""),
            };
            condition["value"] = op switch
            {
                "between" => new JsonArray(One(line.Value, line.Unit), One(line.Value2, line.Unit2)),
                "in" or "not in" when field?.Choices is not null => new JsonArray([.. line.Choices.Select(c => JsonValue.Create(c))]),
                "in" or "not in" => new JsonArray([.. (line.Value ?? "").Split(type == FieldType.Number ? ';' : ',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(v => One(v, null))]),
                _ => One(line.Value, line.Unit),
            };
            return condition;
        }

        // A number as the page's language writes it (1.234,5 in German); what does not read as one goes on as text,
        // and the rule's parser says at that condition that it must be a number.
        static JsonNode? Number(string? text)
        {
            var trimmed = text?.Trim() ?? "";
            return double.TryParse(trimmed, NumberStyles.Number, CultureInfo.CurrentCulture, out var local) ? JsonValue.Create(local)
                : double.TryParse(trimmed, NumberStyles.Number, CultureInfo.InvariantCulture, out var invariant) ? JsonValue.Create(invariant)
                : JsonValue.Create(trimmed);
        }
    }

    /// <summary>The line an error's path belongs to: the line with the longest path that is a prefix of it.</summary>
    public static int LineOf(string errorPath, string[] paths)
    {
        var best = 0;
        var bestLength = -1;
        for (var i = 0; i < paths.Length; i++)
        {
            var p = paths[i];
            if (p is null || !errorPath.StartsWith(p, StringComparison.Ordinal)) continue;
            if (errorPath.Length > p.Length && errorPath[p.Length] is not ('.' or '[')) continue;
            if (p.Length > bestLength) (best, bestLength) = (i, p.Length);
        }
        return best;
    }

    /// <summary>
    /// Keeps each condition's operator and value in step with its field after the field changed: an operator the
    /// field's type does not take becomes the field's first, a value from another field's set its first value.
    /// </summary>
    public static void Normalise(List<RuleLine> lines, IReadOnlyList<BuilderField> fields)
    {
        if (lines.Count == 0 || !lines[0].IsGroup) lines.Insert(0, new RuleLine { Kind = "all" });
        for (var i = 1; i < lines.Count; i++) lines[i].Depth = Math.Clamp(lines[i].Depth, 1, lines[i - 1].Depth + (lines[i - 1].IsGroup ? 1 : 0));
        foreach (var line in lines.Where(l => !l.IsGroup))
        {
            line.Kind = "condition";
            if (Find(fields, line) is not { } field) { line.Field = "recency_days"; field = Find(fields, line)!; }
            if (line.Op is null || !SegmentRule.OpsFor(field.Type).Contains(line.Op)) line.Op = field.Ops[0];
            if (field.Type == FieldType.Bool && line.Value is not ("true" or "false")) line.Value = "true";
            if (field.Choices is { } choices && line.Op is "=" or "!=" && !choices.Contains(line.Value ?? "")) line.Value = choices[0];
            if (field.Type == FieldType.Date && line.Unit is null && int.TryParse(line.Value, CultureInfo.InvariantCulture, out _)) line.Unit = "day";
            if (field.Type == FieldType.Date && line.Unit2 is null && int.TryParse(line.Value2, CultureInfo.InvariantCulture, out _)) line.Unit2 = "day";
        }
    }

    /// <summary>Applies a structural action ("add-condition:3", "add-group:3", "remove:3") to the lines.</summary>
    public static List<RuleLine> Apply(List<RuleLine> lines, string? action)
    {
        if (action?.Split(':') is not [var verb, var number] || !int.TryParse(number, CultureInfo.InvariantCulture, out var at) || at < 0 || at >= lines.Count)
            return lines;
        var end = at + 1;
        while (end < lines.Count && lines[end].Depth > lines[at].Depth) end++;
        var result = new List<RuleLine>(lines);
        switch (verb)
        {
            case "add-condition" when lines[at].IsGroup:
                result.Insert(end, NewCondition(lines[at].Depth + 1));
                break;
            case "add-group" when lines[at].IsGroup && lines[at].Depth < SegmentRule.MaxDepth - 2:
                result.Insert(end, new RuleLine { Kind = "any", Depth = lines[at].Depth + 1 });
                result.Insert(end + 1, NewCondition(lines[at].Depth + 2));
                break;
            case "remove" when at > 0:
                result.RemoveRange(at, end - at);
                break;
        }
        return result;
    }
}
