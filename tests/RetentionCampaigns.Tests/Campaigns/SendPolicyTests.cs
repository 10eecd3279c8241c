using RetentionCampaigns.Campaigns;

namespace RetentionCampaigns.Tests.Campaigns;

public sealed class SendPolicyTests
{
    static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    static Campaign Campaign(CampaignPolicy policy, string kind = "once") =>
        new() { Id = 7, Name = "c", ScheduleKind = kind, TimeZone = "Europe/Berlin", Policy = policy };

    static DateTime Utc(int year, int month, int day, int hour, int minute = 0) => new(year, month, day, hour, minute, 0, DateTimeKind.Utc);

    [Fact]
    public void QuietHoursThatWrapMidnightEndAtTheCustomersMorning()
    {
        // 22:30 in Berlin (CET, UTC+1) is quiet until 08:00 the next morning = 07:00 UTC.
        Assert.Equal(Utc(2026, 1, 16, 7), SendPolicy.NextOutsideQuietHours(Utc(2026, 1, 15, 21, 30), Berlin, "21:00", "08:00"));
        // 06:00 Berlin is still quiet, until 08:00 the same day.
        Assert.Equal(Utc(2026, 1, 16, 7), SendPolicy.NextOutsideQuietHours(Utc(2026, 1, 16, 5), Berlin, "21:00", "08:00"));
        // 12:00 Berlin is not quiet.
        Assert.Equal(Utc(2026, 1, 16, 11), SendPolicy.NextOutsideQuietHours(Utc(2026, 1, 16, 11), Berlin, "21:00", "08:00"));
        // In summer (CEST, UTC+2) the same 08:00 is 06:00 UTC.
        Assert.Equal(Utc(2026, 7, 2, 6), SendPolicy.NextOutsideQuietHours(Utc(2026, 7, 1, 22), Berlin, "21:00", "08:00"));
    }

    [Fact]
    public void AQuietEndInsideTheSpringForwardGapIsTheFirstTimeAfterIt()
    {
        // 29 March 2026 in Berlin: 02:00 CET jumps to 03:00 CEST. Quiet 01:00-02:30 ends at 03:00 CEST = 01:00 UTC.
        Assert.Equal(Utc(2026, 3, 29, 1), SendPolicy.NextOutsideQuietHours(Utc(2026, 3, 29, 0, 30), Berlin, "01:00", "02:30"));
        // 25 October 2026: 03:00 CEST falls back to 02:00 CET; 21:00-08:00 quiet from the evening before ends 08:00 CET = 07:00 UTC.
        Assert.Equal(Utc(2026, 10, 25, 7), SendPolicy.NextOutsideQuietHours(Utc(2026, 10, 24, 20), Berlin, "21:00", "08:00"));
    }

    [Fact]
    public void TheSameInstantIsQuietInOneZoneAndNotInAnother()
    {
        var instant = Utc(2026, 5, 4, 13); // 09:00 in New York, 22:00 in Tokyo
        Assert.Equal(instant, SendPolicy.NextOutsideQuietHours(instant, TimeZoneInfo.FindSystemTimeZoneById("America/New_York"), "21:00", "08:00"));
        Assert.Equal(Utc(2026, 5, 4, 23), SendPolicy.NextOutsideQuietHours(instant, TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo"), "21:00", "08:00"));
    }

    [Fact]
    public void TheFrequencyCapDefersUntilTheOldestSendLeavesTheWindowOrSkips()
    {
        var now = Utc(2026, 5, 4, 12);
        var recent = new List<RecentSend> { new(1, now.AddDays(-6)), new(2, now.AddDays(-1)) };
        var noQuiet = new CampaignPolicy { QuietFrom = "", QuietUntil = "" };

        var deferred = SendPolicy.Decide(Campaign(noQuiet), now, now.AddDays(3), "Europe/Berlin", recent);
        Assert.Equal(DeliveryStatuses.Deferred, deferred.Status);
        Assert.Equal(now.AddDays(1), deferred.NotBefore);
        Assert.StartsWith("frequency cap", deferred.Reason);

        var beyondValidity = SendPolicy.Decide(Campaign(noQuiet), now, now.AddHours(12), "Europe/Berlin", recent);
        Assert.Equal(DeliveryStatuses.Skipped, beyondValidity.Status);
        Assert.Equal(DeliveryStatuses.Skipped, SendPolicy.Decide(Campaign(noQuiet with { OnCap = "skip" }), now, now.AddDays(3), "Europe/Berlin", recent).Status);
        Assert.Same(PolicyDecision.SendNow, SendPolicy.Decide(Campaign(noQuiet), now, now.AddDays(3), "Europe/Berlin", recent.Take(1).ToList()));
        Assert.Same(PolicyDecision.SendNow, SendPolicy.Decide(Campaign(noQuiet with { FrequencyCap = 3 }), now, now.AddDays(3), "Europe/Berlin", recent));
    }

    [Fact]
    public void ARecurringCampaignReachesACustomerAtMostOncePerRepeatInterval()
    {
        var now = Utc(2026, 5, 4, 12);
        var policy = new CampaignPolicy { QuietFrom = "", QuietUntil = "", RepeatAfterDays = 30, FrequencyCap = 10 };
        var skipped = SendPolicy.Decide(Campaign(policy, "cron"), now, now.AddDays(3), "Europe/Berlin", [new(7, now.AddDays(-10))]);
        Assert.Equal(DeliveryStatuses.Skipped, skipped.Status);
        Assert.Contains("repeats for a customer after 30 days", skipped.Reason);
        Assert.Same(PolicyDecision.SendNow, SendPolicy.Decide(Campaign(policy, "cron"), now, now.AddDays(3), "Europe/Berlin", [new(7, now.AddDays(-31)), new(8, now.AddDays(-2))]));
    }
}
