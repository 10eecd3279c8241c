using System.Text.RegularExpressions;
using RetentionCampaigns.Api;
using RetentionCampaigns.Coupons;

namespace RetentionCampaigns.Campaigns;

/// <summary>A campaign: a segment, a template, a schedule and the rules of sending.</summary>
public sealed class Campaign
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public long SegmentId { get; set; }
    public long TemplateId { get; set; }
    /// <summary>For customers whose language the template lacks.</summary>
    public string DefaultLocale { get; set; } = "de";
    /// <summary>The sender identity; the shop's name and address when not set.</summary>
    public string? SenderName { get; set; }
    public string? SenderEmail { get; set; }
    public string? ReplyTo { get; set; }
    /// <summary><c>once</c> at <see cref="SendAt"/>, or <c>cron</c> by <see cref="Cron"/> in <see cref="TimeZone"/>.</summary>
    public required string ScheduleKind { get; set; }
    public DateTime? SendAt { get; set; }
    public string? Cron { get; set; }
    /// <summary>The Quartz cron this campaign had before the move to Hangfire (migration 0024), kept for the record.</summary>
    public string? QuartzCron { get; set; }
    /// <summary>A scheduled one-off campaign's pending Hangfire job, deleted when the campaign changes.</summary>
    public string? ScheduledJobId { get; set; }
    /// <summary>IANA zone of the cron expression.</summary>
    public required string TimeZone { get; set; }
    public DateTime? ActiveFrom { get; set; }
    public DateTime? ActiveUntil { get; set; }
    public int HoldoutPercent { get; set; }
    /// <summary>Higher goes first when campaigns compete for a customer's frequency cap.</summary>
    public int Priority { get; set; }
    public CampaignPolicy Policy { get; set; } = new();
    public CampaignOffer? Offer { get; set; }
    /// <summary>The preference-centre topic the campaign belongs to; customers who opted out of it are skipped.</summary>
    public string? Topic { get; set; }
    public string State { get; set; } = CampaignStates.Draft;
    /// <summary>Why the system itself paused the campaign; null once a person acts on it.</summary>
    public string? StateReason { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>How sending is limited: frequency cap, quiet hours, repeat interval, rate.</summary>
public sealed record CampaignPolicy
{
    /// <summary>Marketing emails a customer may get from all campaigns in a rolling window (DOMAIN default: 2 in 7 days).</summary>
    public int FrequencyCap { get; init; } = 2;
    public int FrequencyWindowDays { get; init; } = 7;
    /// <summary><c>defer</c> to the next allowed moment within the run's validity, or <c>skip</c>.</summary>
    public string OnCap { get; init; } = "defer";
    /// <summary>Quiet hours in the customer's time zone, "HH:mm"; none when empty, null or "off".</summary>
    public string QuietFrom { get; init => field = Off(value); } = "21:00";
    public string QuietUntil { get; init => field = Off(value); } = "08:00";
    public bool HasQuietHours => QuietFrom.Length > 0 || QuietUntil.Length > 0;
    /// <summary>A recurring campaign reaches the same customer at most once in this many days.</summary>
    public int RepeatAfterDays { get; init; } = 30;
    /// <summary>Messages per minute for this campaign; 0 for no limit of its own.</summary>
    public int RatePerMinute { get; init; }
    /// <summary>How long after its start a run may still send deferred messages.</summary>
    public int ValidityHours { get; init; } = 72;

    static string Off(string? value) => value is null || string.IsNullOrWhiteSpace(value) || value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) ? "" : value.Trim();
}

/// <summary>The offer in the email: a code from a pool the shop uploaded, or one we generate.</summary>
public sealed partial record CampaignOffer
{
    /// <summary><c>pool</c> or <c>generated</c>.</summary>
    public required string Codes { get; init; }
    public string? Prefix { get; init; }
    public decimal? Value { get; init; }
    public int? PercentOff { get; init; }
    public decimal? MinimumOrder { get; init; }
    public int ValidDays { get; init; } = 30;

    /// <summary>Checks the offer; errors are keyed <paramref name="path"/>.field (campaign offers, referral rewards).</summary>
    public bool IsValid(string path, ValidationErrors errors)
    {
        var before = errors.Total;
        if (Codes is not ("pool" or "generated")) errors.Add($"{path}.codes", "must be pool (codes the shop uploads) or generated.");
        if ((Value is null) == (PercentOff is null)) errors.Add($"{path}.value", "give either value (an amount) or percentOff.");
        if (Value is { } value && (value <= 0 || FieldRules.ToMinorUnits(value) is null)) errors.Add($"{path}.value", "must be a positive amount with at most two decimals.");
        errors.Range($"{path}.percentOff", PercentOff, 1, 100);
        if (MinimumOrder is { } minimum && (minimum < 0 || FieldRules.ToMinorUnits(minimum) is null)) errors.Add($"{path}.minimumOrder", "must be an amount of zero or more with at most two decimals.");
        errors.Range($"{path}.validDays", ValidDays, 1, 365);
        if (Prefix is { } prefix && !PrefixPattern().IsMatch(prefix)) errors.Add($"{path}.prefix", "must be up to 12 capital letters, digits or dashes.");
        return errors.Total == before;
    }

    /// <summary>The terms a coupon is issued on.</summary>
    public CouponTerms Terms() => new(Codes == "generated", Prefix, Value is { } value ? FieldRules.ToMinorUnits(value) : null, PercentOff,
        MinimumOrder is { } minimum ? FieldRules.ToMinorUnits(minimum) : null, ValidDays);

    [GeneratedRegex("^[A-Z0-9-]{0,12}$")]
    private static partial Regex PrefixPattern();
}

/// <summary>
/// The campaign lifecycle, in one table: every change of state goes through <see cref="Allowed"/>, so there is no
/// second place where a transition could be allowed by accident.
/// </summary>
public static class CampaignStates
{
    public const string Draft = "draft", Scheduled = "scheduled", Running = "running", Paused = "paused",
        Completed = "completed", Cancelled = "cancelled";

    public static readonly string[] All = [Draft, Scheduled, Running, Paused, Completed, Cancelled];

    static readonly Dictionary<(string From, string Action), string> Transitions = new()
    {
        [(Draft, "schedule")] = Scheduled,
        [(Draft, "cancel")] = Cancelled,
        [(Scheduled, "start")] = Running,
        [(Scheduled, "pause")] = Paused,
        [(Scheduled, "unschedule")] = Draft,
        [(Scheduled, "cancel")] = Cancelled,
        [(Running, "pause")] = Paused,
        [(Running, "finish")] = Scheduled, // a recurring campaign waits for its next run
        [(Running, "complete")] = Completed,
        [(Running, "cancel")] = Cancelled,
        [(Paused, "resume")] = Scheduled,
        [(Paused, "continue")] = Running, // "resume" while a run has deliveries left: it carries on sending
        [(Paused, "cancel")] = Cancelled,
        [(Draft, "run-now")] = Scheduled,
        [(Scheduled, "run-now")] = Scheduled,
    };

    /// <summary>Transitions the system makes itself; the API offers the others as actions.</summary>
    public static readonly string[] Internal = ["start", "finish", "complete", "continue"];

    public static IEnumerable<string> Actions => Transitions.Keys.Select(k => k.Action).Distinct();

    public static bool Allowed(string from, string action, out string to) => Transitions.TryGetValue((from, action), out to!);

    public static IEnumerable<string> ActionsFrom(string state) => Transitions.Keys.Where(k => k.From == state).Select(k => k.Action);

    /// <summary>Only a draft is edited freely; a paused campaign may change its rules but not its audience or content.</summary>
    public static bool Editable(string state) => state is Draft or Paused;
}
