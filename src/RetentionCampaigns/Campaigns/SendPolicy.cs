using System.Globalization;

namespace RetentionCampaigns.Campaigns;

/// <summary>What the policy says for one customer at one moment: send now, wait until a time, or skip.</summary>
public sealed record PolicyDecision(string Status, string? Reason, DateTime? NotBefore)
{
    public static readonly PolicyDecision SendNow = new(DeliveryStatuses.Sending, null, null);
}

/// <summary>A customer's recent marketing emails, from the ledger.</summary>
public sealed record RecentSend(long CampaignId, DateTime SentAt);

/// <summary>
/// The sending rules of a campaign, as pure functions of the ledger and the clock: a campaign that recurs reaches a
/// customer at most once per N days; all campaigns together send at most the cap per rolling window (deferred to
/// when the oldest send leaves the window, or skipped, per policy); nothing arrives in the customer's quiet hours.
/// </summary>
public static class SendPolicy
{
    public static PolicyDecision Decide(Campaign campaign, DateTime nowUtc, DateTime validUntil, string customerTimeZone, IReadOnlyList<RecentSend> recent)
    {
        var policy = campaign.Policy;
        if (campaign.ScheduleKind == "cron" && policy.RepeatAfterDays > 0
            && recent.Where(s => s.CampaignId == campaign.Id).Select(s => s.SentAt).DefaultIfEmpty().Max() is var last && last > nowUtc.AddDays(-policy.RepeatAfterDays))
            return new PolicyDecision(DeliveryStatuses.Skipped,
                $"received this campaign on {last:yyyy-MM-dd}; it repeats for a customer after {policy.RepeatAfterDays} days", null);

        var window = nowUtc.AddDays(-policy.FrequencyWindowDays);
        var inWindow = recent.Where(s => s.SentAt > window).Select(s => s.SentAt).Order().ToList();
        var earliest = nowUtc;
        if (inWindow.Count >= policy.FrequencyCap)
        {
            // The moment enough sends have left the window for one more.
            var freeAt = inWindow[inWindow.Count - policy.FrequencyCap].AddDays(policy.FrequencyWindowDays);
            var capReason = $"frequency cap: {inWindow.Count} marketing emails in the last {policy.FrequencyWindowDays} days (at most {policy.FrequencyCap})";
            if (policy.OnCap == "skip" || freeAt > validUntil) return new PolicyDecision(DeliveryStatuses.Skipped, capReason, null);
            earliest = freeAt;
        }

        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(customerTimeZone, out var found) ? found : TimeZoneInfo.Utc;
        var allowed = NextOutsideQuietHours(earliest, zone, policy.QuietFrom, policy.QuietUntil);
        if (allowed > validUntil)
            return new PolicyDecision(DeliveryStatuses.Skipped, "no allowed moment before the run's validity ends", null);
        if (allowed <= nowUtc) return PolicyDecision.SendNow;
        var why = allowed == earliest
            ? $"frequency cap: deferred until {allowed:yyyy-MM-dd HH:mm} UTC"
            : $"quiet hours {policy.QuietFrom}-{policy.QuietUntil} {zone.Id}: deferred until {allowed:yyyy-MM-dd HH:mm} UTC";
        return new PolicyDecision(DeliveryStatuses.Deferred, why, allowed);
    }

    /// <summary>
    /// The first instant at or after <paramref name="utc"/> outside the quiet hours in <paramref name="zone"/>.
    /// The window may wrap midnight (21:00-08:00). A quiet end that does not exist that day (the spring-forward
    /// gap) is the first local time after the gap.
    /// </summary>
    public static DateTime NextOutsideQuietHours(DateTime utc, TimeZoneInfo zone, string quietFrom, string quietUntil)
    {
        if (string.IsNullOrEmpty(quietFrom) || string.IsNullOrEmpty(quietUntil)) return utc;
        var from = TimeOnly.ParseExact(quietFrom, "HH:mm", CultureInfo.InvariantCulture);
        var until = TimeOnly.ParseExact(quietUntil, "HH:mm", CultureInfo.InvariantCulture);
        if (from == until) return utc;
        var local = TimeZoneInfo.ConvertTimeFromUtc(utc, zone);
        var time = TimeOnly.FromDateTime(local);
        var quiet = from < until ? time >= from && time < until : time >= from || time < until;
        if (!quiet) return utc;
        var endDay = from < until || time < until ? local.Date : local.Date.AddDays(1);
        var end = endDay + until.ToTimeSpan();
        while (zone.IsInvalidTime(end)) end = end.AddMinutes(1);
        return TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(end, DateTimeKind.Unspecified), zone);
    }
}
