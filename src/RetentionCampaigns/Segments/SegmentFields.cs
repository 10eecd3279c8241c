namespace RetentionCampaigns.Segments;

public enum FieldType { Number, Text, Bool, Date, Tags }

/// <summary>A field a rule may test: its type and its SQL expression over customers c and customer_metrics m.</summary>
/// <param name="Values">For a text field with a closed set of values: a misspelt value is refused instead of selecting nobody.</param>
public sealed record SegmentField(string Name, FieldType Type, string Postgres, string Sqlite, ValueSet? Values = null)
{
    public string Sql(bool postgres) => postgres ? Postgres : Sqlite;
}

/// <summary>The values a field can hold: what a value means in the stored spelling (null when it is none of them), and how to say which are allowed.</summary>
public sealed record ValueSet(string Allowed, Func<string, string?> Canonical)
{
    /// <summary>A fixed list, matched without regard to case and stored as listed.</summary>
    public static ValueSet Of(IReadOnlyList<string> values) =>
        new(string.Join(", ", values), value => values.FirstOrDefault(v => v.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase)));

    /// <summary>Countries are stored as upper-case ISO 3166-1 alpha-2 codes.</summary>
    public static readonly ValueSet CountryCode = new("a two-letter ISO 3166 country code such as DE, AT or GB",
        value => value.Trim() is { Length: 2 } code && code.All(char.IsAsciiLetter) ? code.ToUpperInvariant() : null);
}

public static class SegmentFields
{
    static SegmentField Same(string name, FieldType type, string sql, ValueSet? values = null) => new(name, type, sql, sql, values);

    public static readonly string[] NpsCategories = ["promoter", "passive", "detractor", "unknown"];
    public static readonly string[] ConsentStates = ["granted", "withdrawn", "none"];

    // Marketing consent is kept on the customer's row (SegmentQuery.MarketingConsent); other purposes are looked up.
    static SegmentField Consent(string purpose) => Same($"consent.{purpose}", FieldType.Text,
        purpose == "email_marketing"
            ? SegmentQuery.MarketingConsent
            : $"COALESCE((SELECT e.status FROM consent_events AS e WHERE e.customer_id = c.id AND e.purpose = '{purpose}' ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'none')",
        ValueSet.Of(ConsentStates));

    public static readonly IReadOnlyDictionary<string, SegmentField> Known = new[]
    {
        Same("recency_days", FieldType.Number, "m.recency_days"),
        Same("frequency", FieldType.Number, "m.frequency"),
        Same("monetary", FieldType.Number, "(m.monetary_minor / 100.0)"),
        Same("aov", FieldType.Number, "(m.aov_minor / 100.0)"),
        Same("clv", FieldType.Number, "(m.clv_minor / 100.0)"),
        Same("order_count", FieldType.Number, "m.order_count"),
        Same("tenure_days", FieldType.Number, "m.tenure_days"),
        Same("r_score", FieldType.Number, "m.r_score"),
        Same("f_score", FieldType.Number, "m.f_score"),
        Same("m_score", FieldType.Number, "m.m_score"),
        Same("rfm_group", FieldType.Text, "m.rfm_group", ValueSet.Of(Metrics.RfmGroups.All)),
        Same("nps_last", FieldType.Number, "m.nps_last"),
        Same("nps_category", FieldType.Text, "COALESCE(m.nps_category, 'unknown')", ValueSet.Of(NpsCategories)),
        Same("csat_avg", FieldType.Number, "m.csat_avg"),
        Same("ces_last", FieldType.Number, "m.ces_last"),
        Same("loyalty_score", FieldType.Number, "m.loyalty_score"),
        Same("churned", FieldType.Bool, "m.churned"),
        Same("last_order_at", FieldType.Date, "m.last_order_at"),
        Same("first_order_at", FieldType.Date, "m.first_order_at"),
        Same("signed_up_at", FieldType.Date, "c.signed_up_at"),
        // From the delivery ledger: "no marketing email for 14 days" is last_marketing_email_at < "14 days ago" or is empty.
        Same("last_marketing_email_at", FieldType.Date, "(SELECT MAX(d.updated_at) FROM deliveries AS d WHERE d.customer_id = c.id AND d.status = 'sent')"),
        Same("locale", FieldType.Text, "c.locale", ValueSet.Of(Templates.LocaleFormat.Supported)),
        Same("country", FieldType.Text, "c.country", ValueSet.CountryCode),
        Same("tags", FieldType.Tags, "c.tags"),
        Consent("email_marketing"), Consent("tracking"), Consent("referral_program"),
    }.ToDictionary(f => f.Name);

    public const string AttributePrefix = "attributes.";
    public const string ReceivedCampaignPrefix = "received_campaign_at.";

    /// <summary>
    /// When the customer was last sent campaign N, from the ledger: "received campaign 7 within 14 days" is
    /// <c>received_campaign_at.7 &gt;= "14 days ago"</c>; "never received it" is <c>is empty</c>.
    /// </summary>
    public static SegmentField ReceivedCampaign(long campaignId) => Same(ReceivedCampaignPrefix + campaignId, FieldType.Date,
        $"(SELECT MAX(d.updated_at) FROM deliveries AS d JOIN campaign_runs AS r ON r.id = d.run_id WHERE d.customer_id = c.id AND d.status = 'sent' AND r.campaign_id = {campaignId})");

    /// <summary>A custom attribute, as text or, for numeric comparisons, as a number (non-numbers count as empty).</summary>
    public static SegmentField Attribute(string name, bool numeric)
    {
        var key = name.Replace("'", "''").Replace("\"", "");
        return numeric
            ? new SegmentField(AttributePrefix + name, FieldType.Number,
                $"(CASE WHEN jsonb_typeof(c.attributes::jsonb -> '{key}') = 'number' THEN (c.attributes::jsonb ->> '{key}')::double precision END)",
                $"(CASE WHEN json_type(c.attributes, '$.\"{key}\"') IN ('integer', 'real') THEN json_extract(c.attributes, '$.\"{key}\"') END)")
            : new SegmentField(AttributePrefix + name, FieldType.Text,
                $"(CASE WHEN jsonb_typeof(c.attributes::jsonb -> '{key}') IN ('string', 'number', 'boolean') THEN c.attributes::jsonb ->> '{key}' END)",
                $"(CASE WHEN json_type(c.attributes, '$.\"{key}\"') IN ('text', 'integer', 'real') THEN CAST(json_extract(c.attributes, '$.\"{key}\"') AS TEXT) WHEN json_type(c.attributes, '$.\"{key}\"') = 'true' THEN 'true' WHEN json_type(c.attributes, '$.\"{key}\"') = 'false' THEN 'false' END)");
    }
}
