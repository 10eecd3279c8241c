using System.Text;

namespace RetentionCampaigns.Scheduling;

/// <summary>
/// Converts the cron expressions stored in Quartz's dialect (seconds minutes hours day-of-month month day-of-week
/// [year]) to the dialect of Hangfire's parser (Cronos: [seconds] minutes hours day-of-month month day-of-week).
/// The differences that matter: Quartz numbers weekdays 1 = Sunday to 7 = Saturday, Cronos 0 = Sunday to
/// 6 = Saturday (so Quartz's <c>0 0 9 ? * 2</c>, Monday, would be Tuesday unconverted); Quartz needs <c>?</c> in one
/// of the two day fields; Quartz allows a year field, which Cronos has no place for; a lone <c>L</c> as weekday is
/// Saturday in Quartz. Seconds are dropped when they are 0, so the common case reads as a classic 5-field cron.
/// </summary>
public static class CronDialect
{
    public sealed record Conversion(string? Cron, string? Problem);

    public static Conversion FromQuartz(string quartz)
    {
        var fields = quartz.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is not (6 or 7))
            return new(null, $"'{quartz}' has {fields.Length} fields; a Quartz cron has 6 (seconds to weekday) or 7 (with a year).");
        if (fields.Length == 7 && fields[6] is not ("*" or "?"))
            return new(null, $"'{quartz}' names a year ({fields[6]}); Hangfire's cron has no year field. Use a one-off campaign, or an active period.");
        string Day(string field) => field == "?" ? "*" : field;
        var weekday = Weekday(fields[5]);
        if (weekday.Problem is not null) return new(null, $"'{quartz}': {weekday.Problem}");
        var parts = new List<string>();
        if (fields[0] != "0") parts.Add(fields[0]);
        parts.AddRange([fields[1], fields[2], Day(fields[3]), fields[4], weekday.Cron!]);
        return new(string.Join(' ', parts), null);
    }

    /// <summary>Renumbers a weekday field: every number n (in lists, ranges, steps' starts, n#k and nL) becomes n - 1.</summary>
    static Conversion Weekday(string field)
    {
        if (field is "?" or "*") return new("*", null);
        if (field == "L") return new("SAT", null);
        var result = new StringBuilder(field.Length);
        var i = 0;
        while (i < field.Length)
        {
            var c = field[i];
            if (char.IsAsciiDigit(c))
            {
                var start = i;
                while (i < field.Length && char.IsAsciiDigit(field[i])) i++;
                var number = int.Parse(field.AsSpan(start, i - start));
                // After '/' (a step) or '#' (the n-th weekday) the number counts, it does not name a day.
                var previous = start > 0 ? field[start - 1] : ' ';
                if (previous is '/' or '#') { result.Append(number); continue; }
                if (number is < 1 or > 7) return new(null, $"weekday {number} is outside Quartz's 1 (Sunday) to 7 (Saturday)");
                result.Append(number - 1);
                continue;
            }
            result.Append(c);
            i++;
        }
        return new(result.ToString(), null);
    }
}
