using System.Globalization;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// What a run at <see cref="At"/> will do about quiet hours, said before it starts: how many of the segment's members
/// are then in their quiet hours, and when the last of them gets the email. "Run now" at night defers nearly everyone
/// to the morning; the marketer learns that up front, not from the run report the next day.
/// </summary>
public sealed record SendForecast(DateTime At, int Members, int DeferredByQuietHours, DateTime? DeferredUntil, string? Note)
{
    /// <summary>When a scheduled campaign with quiet hours sends next (a one-off at its time, a recurring one at its next slot); null otherwise.</summary>
    public static DateTime? NextSend(Campaign campaign, DateTime now)
    {
        // Without quiet hours there is nothing to foretell, and the segment query is not worth its cost on every read.
        if (campaign.State != CampaignStates.Scheduled || !campaign.Policy.HasQuietHours) return null;
        if (campaign.ScheduleKind == "once") return campaign.SendAt is { } at && at > now ? at : now;
        return CampaignsApi.NextRuns(campaign, now, 1) is [var next] ? next : null;
    }

    public static async Task<SendForecast> ForAsync(RetentionDb db, Campaign campaign, DateTime at, CancellationToken ct)
    {
        var segment = await db.Segments.AsNoTracking().FirstAsync(s => s.Id == campaign.SegmentId, ct);
        var query = new SegmentQuery(SegmentsApi.Stored(segment), db.IsPostgres, at);
        var zones = new List<(string Zone, int Count)>();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            // Members per time zone: the quiet hours are the same for everyone in one zone.
            await using var command = query.Command(db.Database.GetDbConnection(), "c.time_zone, COUNT(*)", "GROUP BY c.time_zone");
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) zones.Add((reader.GetString(0), Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture)));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        var policy = campaign.Policy;
        int deferred = 0;
        DateTime? until = null;
        foreach (var (zoneId, count) in zones)
        {
            var zone = TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var found) ? found : TimeZoneInfo.Utc;
            var allowed = SendPolicy.NextOutsideQuietHours(at, zone, policy.QuietFrom, policy.QuietUntil);
            if (allowed <= at) continue;
            deferred += count;
            if (until is null || allowed > until) until = allowed;
        }
        var members = zones.Sum(z => z.Count);
        var note = deferred == 0 ? null
            : $"{deferred} of {members} members are in their quiet hours ({policy.QuietFrom}-{policy.QuietUntil}, their own time) at {at:yyyy-MM-dd HH:mm} UTC; " +
              $"their emails wait until the quiet hours end, the last at {until:yyyy-MM-dd HH:mm} UTC.";
        return new SendForecast(at, members, deferred, until, note);
    }
}
