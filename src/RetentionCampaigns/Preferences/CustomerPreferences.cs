namespace RetentionCampaigns.Preferences;

/// <summary>What a customer chose in the preference centre (migration 0012); no row means no restriction.</summary>
public sealed class CustomerPreferences
{
    public long CustomerId { get; set; }
    public string Frequency { get; set; } = Frequencies.Any;
    public DateTime? PausedUntil { get; set; }
    public List<string> TopicsOptedOut { get; set; } = [];
    public DateTime UpdatedAt { get; set; }

    /// <summary>Why a marketing email may not go to this customer now, or null when it may.</summary>
    public string? Refusal(string? topic, DateTime now, DateTime? lastMarketingEmail)
    {
        if (PausedUntil is { } until && until > now) return $"the customer paused marketing email until {until:yyyy-MM-dd}";
        if (topic is not null && TopicsOptedOut.Contains(topic)) return $"the customer opted out of the topic '{topic}'";
        if (Frequencies.Days(Frequency) is { } days && lastMarketingEmail is { } last && last > now.AddDays(-days))
            return $"the customer asked for at most one marketing email {(Frequency == Frequencies.Weekly ? "a week" : "a month")}";
        return null;
    }
}

public static class Frequencies
{
    public const string Any = "any", Weekly = "weekly", Monthly = "monthly";
    public static readonly string[] All = [Any, Weekly, Monthly];

    /// <summary>The rolling window of "at most one email" in days; null for no limit of the customer's own.</summary>
    public static int? Days(string frequency) => frequency switch { Weekly => 7, Monthly => 30, _ => null };
}

/// <summary>A topic customers may opt out of; campaigns name their topic (section <c>Preferences:Topics</c>).</summary>
public sealed class Topic
{
    public string Key { get; set; } = "";
    public string De { get; set; } = "";
    public string En { get; set; } = "";

    public string Label(string locale) => locale == "en" ? En : De;
}

/// <summary>Section <c>Preferences</c>.</summary>
public sealed class PreferenceOptions
{
    /// <summary>The topics of the preference centre; the built-in three when none are configured.</summary>
    public List<Topic> Topics { get; set; } = [];

    public IReadOnlyList<Topic> EffectiveTopics => Topics.Count > 0 ? Topics : BuiltIn;

    static readonly Topic[] BuiltIn =
    [
        new() { Key = "offers", De = "Angebote und Gutscheine", En = "Offers and coupons" },
        new() { Key = "products", De = "Neue Produkte und Tipps", En = "New products and tips" },
        new() { Key = "surveys", De = "Umfragen zu Ihrer Meinung", En = "Surveys asking your opinion" },
    ];
}
