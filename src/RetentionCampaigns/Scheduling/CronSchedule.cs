using Cronos;

namespace RetentionCampaigns.Scheduling;

/// <summary>
/// A cron expression read the way Hangfire reads it (Cronos: five fields, or six with seconds first; weekdays 0 or 7 =
/// Sunday to 6 = Saturday, or their names), with what the API and the run job need to know about its slots.
/// </summary>
public sealed class CronSchedule
{
    readonly CronExpression expression;

    CronSchedule(CronExpression expression) => this.expression = expression;

    public sealed record Parsed(CronSchedule? Schedule, string? Error);

    public static Parsed Parse(string? text)
    {
        var cron = text?.Trim() ?? "";
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is not (5 or 6))
        {
            var hint = fields.Length == 7 && CronDialect.FromQuartz(cron) is { Cron: { } converted }
                ? $" It looks like Quartz's form with a year; the same schedule here is \"{converted}\"." : "";
            return new(null, $"has {fields.Length} fields; write minute hour day-of-month month day-of-week (e.g. \"0 9 * * MON\"), " +
                             $"or with seconds first.{hint}");
        }
        // Quartz's form reads as valid here but means another weekday (its 2 is Monday, here Tuesday): refused, with the translation.
        if (fields.Length == 6 && fields.Contains("?") && fields[5].Any(char.IsDigit) && CronDialect.FromQuartz(cron) is { Cron: { } quartz })
            return new(null, $"looks like Quartz's form ('?' and weekday numbers counted from 1 = Sunday); here weekdays count from 0 = Sunday. " +
                             $"The Quartz schedule \"{cron}\" is \"{quartz}\" here; write that, or use day names (MON-FRI).");
        try
        {
            return new(new CronSchedule(CronExpression.Parse(cron, fields.Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard)), null);
        }
        catch (CronFormatException exception)
        {
            return new(null, $"is not a cron expression (minute hour day-of-month month day-of-week, e.g. \"0 9 * * MON\"): {exception.Message}");
        }
    }

    /// <summary>The next slots after <paramref name="afterUtc"/> in <paramref name="zone"/>, at most <paramref name="count"/>, none past <paramref name="untilUtc"/>.</summary>
    public IReadOnlyList<DateTime> Next(DateTime afterUtc, TimeZoneInfo zone, int count, DateTime? untilUtc = null)
    {
        var slots = new List<DateTime>(count);
        var from = DateTime.SpecifyKind(afterUtc, DateTimeKind.Utc);
        while (slots.Count < count && expression.GetNextOccurrence(from, zone) is { } next && (untilUtc is null || next <= untilUtc))
        {
            slots.Add(next);
            from = next;
        }
        return slots;
    }

    /// <summary>
    /// The latest slot at or before <paramref name="atUtc"/>: the slot a recurring job was fired for. Hangfire does not
    /// tell a job its slot (it may fire a missed one late, once), and the run is keyed by it.
    /// </summary>
    public DateTime? Latest(DateTime atUtc, TimeZoneInfo zone)
    {
        var at = DateTime.SpecifyKind(atUtc, DateTimeKind.Utc);
        // Look back over a growing window: a minutely cron is found in the first, a yearly one within a year.
        for (var window = TimeSpan.FromMinutes(2); window <= TimeSpan.FromDays(800); window *= 4)
        {
            DateTime? last = null;
            foreach (var slot in expression.GetOccurrences(at - window, at, zone, fromInclusive: true, toInclusive: true)) last = slot;
            if (last is not null) return last;
        }
        return null;
    }
}
