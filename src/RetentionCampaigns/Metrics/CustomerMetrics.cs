namespace RetentionCampaigns.Metrics;

/// <summary>One customer's metrics as of <see cref="EvaluatedAt"/>; definitions in DOMAIN.md.</summary>
public sealed class CustomerMetrics
{
    public long CustomerId { get; set; }
    public DateTime EvaluatedAt { get; set; }
    public int OrderCount { get; set; }
    public DateTime? FirstOrderAt { get; set; }
    public DateTime? LastOrderAt { get; set; }
    public int? RecencyDays { get; set; }
    public int Frequency { get; set; }
    public long MonetaryMinor { get; set; }
    public double? AovMinor { get; set; }
    public int? TenureDays { get; set; }
    public int? RScore { get; set; }
    public int? FScore { get; set; }
    public int? MScore { get; set; }
    public string? RfmGroup { get; set; }
    public int? NpsLast { get; set; }
    public string NpsCategory { get; set; } = "unknown";
    public double? CsatAvg { get; set; }
    public int? CesLast { get; set; }
    public double? LoyaltyScore { get; set; }
    public double? ClvMinor { get; set; }
    public bool Churned { get; set; }
}

public sealed class MetricsRun
{
    public long Id { get; set; }
    public DateTime EvaluatedAt { get; set; }
    public DateTime StartedAt { get; set; }
    public long DurationMs { get; set; }
    public int Customers { get; set; }
    public double? AverageLifespanYears { get; set; }
}

/// <summary>The configurable parameters of DOMAIN.md (section <c>Metrics</c>).</summary>
public sealed class MetricsOptions
{
    public int LookbackDays { get; set; } = 365;
    public int SurveyWindowDays { get; set; } = 365;
    public int ChurnAfterDays { get; set; } = 180;
    /// <summary>When set, used for CLV instead of the mean lifespan of customers with two or more orders.</summary>
    public double? AverageLifespanYears { get; set; }
}

public static class RfmGroups
{
    public const string Champions = "Champions", Loyal = "Loyal", PotentialLoyalists = "Potential loyalists",
        NewCustomers = "New customers", Promising = "Promising", NeedAttention = "Need attention",
        AboutToSleep = "About to sleep", AtRisk = "At risk", CantLoseThem = "Can't lose them", Hibernating = "Hibernating";

    public static readonly string[] All =
        [Champions, Loyal, PotentialLoyalists, NewCustomers, Promising, NeedAttention, AboutToSleep, AtRisk, CantLoseThem, Hibernating];

    /// <summary>The grid of DOMAIN.md: every (R, F) cell belongs to exactly one group.</summary>
    public static string For(int r, int f) => (r, f) switch
    {
        (5, >= 4) => Champions,
        (3 or 4, >= 4) => Loyal,
        (>= 4, 2 or 3) => PotentialLoyalists,
        (5, 1) => NewCustomers,
        (4, 1) => Promising,
        (3, 3) => NeedAttention,
        (3, <= 2) => AboutToSleep,
        (<= 2, 3 or 4) => AtRisk,
        (<= 2, 5) => CantLoseThem,
        _ => Hibernating,
    };
}
