using Cronos;
using RetentionCampaigns.Scheduling;

namespace RetentionCampaigns.Tests.Scheduling;

public sealed class CronDialectTests
{
    [Theory]
    [InlineData("0 0 9 ? * 2", "0 9 * * 1")]                 // Monday in Quartz; 2 would be Tuesday in Hangfire
    [InlineData("0 0 9 ? * MON", "0 9 * * MON")]
    [InlineData("0 30 2 * * ?", "30 2 * * *")]               // the nightly refresh's default
    [InlineData("0 0 10 ? * 2-6", "0 10 * * 1-5")]
    [InlineData("0 0 8 ? * 1,7", "0 8 * * 0,6")]
    [InlineData("0 0 12 ? * 6#3", "0 12 * * 5#3")]           // the third Friday
    [InlineData("0 0 12 ? * 6L", "0 12 * * 5L")]             // the last Friday
    [InlineData("0 0 12 ? * 1/2", "0 12 * * 0/2")]
    [InlineData("0 0 12 ? * L", "0 12 * * SAT")]
    [InlineData("15 0 9 * * ?", "15 0 9 * * *")]             // seconds kept when not 0
    [InlineData("0 0 9 ? * MON *", "0 9 * * MON")]           // a year field that says every year
    [InlineData("0 0 9 L * ?", "0 9 L * *")]
    [InlineData("0 0/15 8-17 ? JAN-MAR MON-FRI", "0/15 8-17 * JAN-MAR MON-FRI")]
    public void ConvertsEachQuartzForm(string quartz, string hangfire)
    {
        var conversion = CronDialect.FromQuartz(quartz);
        Assert.Null(conversion.Problem);
        Assert.Equal(hangfire, conversion.Cron);
    }

    [Theory]
    [InlineData("0 0 9 ? * MON 2027", "year")]
    [InlineData("0 9 * * 1", "5 fields")]
    [InlineData("0 0 9 ? * 8", "outside Quartz's 1 (Sunday) to 7 (Saturday)")]
    public void RefusesWhatHasNoHangfireForm(string quartz, string problem) =>
        Assert.Contains(problem, CronDialect.FromQuartz(quartz).Problem);

    /// <summary>The converted expression fires when Quartz fired, across both 2027 DST changes in Berlin.</summary>
    [Theory]
    [InlineData("0 0 9 ? * 2")]
    [InlineData("0 30 2 * * ?")]
    [InlineData("0 0 10 ? * 2-6")]
    [InlineData("0 0 12 ? * 6#3")]
    [InlineData("0 0 12 ? * 6L")]
    [InlineData("0 0 8 ? * 1,7")]
    [InlineData("0 0/15 8-17 ? JAN-MAR MON-FRI")]
    public void TheConvertedScheduleFiresWhenQuartzFired(string quartz)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var converted = CronDialect.FromQuartz(quartz).Cron!;
        var cronos = CronExpression.Parse(converted, converted.Split(' ').Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        var quartzCron = new Quartz.CronExpression(quartz, zone);
        foreach (var from in new[] { new DateTimeOffset(2027, 3, 20, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 10, 20, 0, 0, 0, TimeSpan.Zero) })
        {
            var expected = new List<DateTimeOffset>();
            var next = from;
            for (var i = 0; i < 40 && quartzCron.GetNextValidTimeAfter(next) is { } after; i++) expected.Add(next = after);
            var actual = cronos.GetOccurrences(from.UtcDateTime, from.UtcDateTime.AddYears(5), zone, fromInclusive: false).Take(expected.Count)
                .Select(d => new DateTimeOffset(d, TimeSpan.Zero)).ToList();
            Assert.Equal(expected.Select(e => e.UtcDateTime), actual.Select(a => a.UtcDateTime));
        }
    }
}
