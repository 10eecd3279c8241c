using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Quartz;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Scheduling;

public sealed class SchedulingTests
{
    static readonly TriggerKey Nightly = new("nightly-metrics-refresh", "system");

    static async Task<IScheduler> SchedulerAsync(RetentionApp app) =>
        await app.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheNightlyRefreshIsAPersistentCronTriggerInTheShopsZoneThatFiresOnceAfterAMisfire(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var scheduler = await SchedulerAsync(app);
        Assert.Equal(SchedulerStatus.Running, await scheduler.GetStatus());
        var trigger = Assert.IsAssignableFrom<ICronTrigger>(await scheduler.GetTrigger(Nightly));
        Assert.Equal("0 30 2 * * ?", trigger.CronExpressionString);
        Assert.Equal("Europe/Berlin", trigger.TimeZone.Id);
        Assert.Equal((int)CronTriggerMisfireInstruction.FireAndProceed, trigger.MisfireInstructionCode);
        var next = TimeZoneInfo.ConvertTime(trigger.NextFireTimeUtc!.Value, trigger.TimeZone);
        Assert.Equal((2, 30), (next.Hour, next.Minute));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task NightsMissedWhileEveryNodeWasDownRunOnceAtStartUp(DatabaseProvider store)
    {
        var first = await RetentionApp.StartAsync(store);
        await using var _ = first;
        await first.StopAsync();

        // Every node was down for three nights: the stored trigger's next firing lies three days back.
        await using (var db = DbOn(first))
        {
            var threeDaysAgo = DateTimeOffset.UtcNow.AddDays(-3).UtcTicks;
            var updated = await db.Database.ExecuteSqlRawAsync(
                "UPDATE qrtz_triggers SET next_fire_time = {0} WHERE trigger_name = 'nightly-metrics-refresh'", threeDaysAgo);
            Assert.Equal(1, updated);
        }

        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await second.WithDbAsync(db => db.MetricsRuns.CountAsync()) == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        await Task.Delay(TimeSpan.FromSeconds(3)); // room for a wrong second firing to show up
        Assert.Equal(1, await second.WithDbAsync(db => db.MetricsRuns.CountAsync()));
        var trigger = await (await SchedulerAsync(second)).GetTrigger(Nightly);
        Assert.True(trigger!.NextFireTimeUtc > DateTimeOffset.UtcNow);
    }

    static RetentionDb DbOn(RetentionApp app)
    {
        var options = new DbContextOptionsBuilder<RetentionDb>();
        if (app.Provider == DatabaseProvider.Postgres) options.UseNpgsql(app.ConnectionString);
        else options.UseSqlite(app.ConnectionString);
        return new RetentionDb(options.Options);
    }
}
