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
    /// <summary>Four ascending order counts, e.g. "2,3,5,8": F is 1 + the number reached, instead of the rank.</summary>
    public string? FrequencyThresholds { get; set; }
    /// <summary>Four ascending amounts in the shop currency (net of refunds), e.g. "50,150,400,1000": the same for M.</summary>
    public string? MonetaryThresholds { get; set; }

    public IReadOnlyList<long>? FrequencyThresholdValues() => Thresholds(FrequencyThresholds, nameof(FrequencyThresholds))?.Select(v => (long)v).ToList();
    public IReadOnlyList<decimal>? MonetaryThresholdValues() => Thresholds(MonetaryThresholds, nameof(MonetaryThresholds));

    /// <summary>Null when not set; a configuration error says what is expected.</summary>
    static List<decimal>? Thresholds(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = parts.Select(p => decimal.TryParse(p, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : -1).ToList();
        var whole = name == nameof(FrequencyThresholds);
        if (values.Count != 4 || values.Any(v => v <= 0 || (whole && v != decimal.Truncate(v)) || decimal.Round(v, 2) != v)
            || values.Zip(values.Skip(1)).Any(p => p.First >= p.Second))
            throw new InvalidOperationException($"Metrics:{name} must be four ascending positive {(whole ? "whole numbers" : "amounts")}, e.g. " +
                $"\"{(whole ? "2,3,5,8" : "50,150,400,1000")}\"; it is \"{text}\".");
        return values;
    }

    /// <summary>Checks the thresholds at start-up, so a typo stops the app with the reason instead of the first refresh.</summary>
    public bool ThresholdsValid()
    {
        FrequencyThresholdValues();
        MonetaryThresholdValues();
        return true;
    }
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
