using Quartz;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Signups;

namespace RetentionCampaigns.Scheduling;

/// <summary>Section <c>Scheduling</c>.</summary>
public sealed class SchedulingOptions
{
    /// <summary>When the nightly metrics refresh runs (Quartz cron, in the shop's time zone): 02:30 by default.</summary>
    public string MetricsRefreshCron { get; set; } = "0 30 2 * * ?";
    /// <summary>Jobs one node runs at once (send batches, refreshes).</summary>
    public int MaxConcurrentJobs { get; set; } = 8;
}

/// <summary>
/// Quartz with a persistent store in our own database: PostgreSQL clustered (every node takes part, a dead node's
/// work is recovered by the others), SQLite for the embedded single node. Quartz creates its tables when missing.
/// </summary>
public static class SchedulingSetup
{
    public static readonly JobKey MetricsRefreshKey = new("metrics-refresh", "system");

    /// <param name="runScheduler">
    /// False for the CLI verbs: the scheduler is registered (the services that schedule jobs resolve, and the
    /// container validates) but never started, so a verb takes no jobs.
    /// </param>
    public static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration, bool runScheduler)
    {
        var options = configuration.GetSection("Scheduling").Get<SchedulingOptions>() ?? new SchedulingOptions();
        var shop = configuration.GetSection("Shop").Get<ShopOptions>() ?? new ShopOptions();
        var bounces = configuration.GetSection("Mail:Bounces").Get<Bounces.BounceOptions>() ?? new Bounces.BounceOptions();
        var (postgres, connectionString) = DataSetup.Connection(configuration);
        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = "retention-campaigns";
                scheduler.GenerateInstanceId = true;
                // An idle node looks for new triggers (another node's send jobs) every few seconds, not every 30.
                scheduler.IdleWaitTime = TimeSpan.FromSeconds(5);
            });
            quartz.UseDefaultThreadPool(options.MaxConcurrentJobs);
            quartz.UsePersistentStore(store =>
            {
                if (postgres)
                {
                    store.UsePostgres(connectionString);
                    store.UseClustering(clustering => clustering.CheckinInterval = TimeSpan.FromSeconds(5));
                }
                else store.UseSqlite(connectionString);
                store.ProvisionSchema();
            });
            // A refresh missed while every node was down runs once when one is back, not once per missed night.
            quartz.ScheduleJob<MetricsRefreshJob>(
                trigger => trigger.WithIdentity("nightly-metrics-refresh", "system")
                    .WithCronSchedule(options.MetricsRefreshCron, cron => cron
                        .InTimeZone(TimeZoneInfo.FindSystemTimeZoneById(shop.TimeZone))
                        .WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed)),
                job => job.WithIdentity(MetricsRefreshKey));
            // Unconfirmed sign-ups are deleted hourly once expired; hours missed while every node was down run once at start-up.
            quartz.ScheduleJob<SignupExpiryJob>(
                trigger => trigger.WithIdentity("hourly-signup-expiry", "system").StartNow()
                    .WithSimpleSchedule(schedule => schedule.WithInterval(TimeSpan.FromHours(1)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithExistingCount)),
                job => job.WithIdentity(SignupExpiryJob.Key));
            // Referral rewards fall due as review periods end; a check every few minutes is soon enough.
            quartz.ScheduleJob<ReferralRewardJob>(
                trigger => trigger.WithIdentity("referral-rewards", "system").StartNow()
                    .WithSimpleSchedule(schedule => schedule.WithInterval(TimeSpan.FromMinutes(5)).RepeatForever()
                        .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithExistingCount)),
                job => job.WithIdentity(ReferralRewardJob.Key));
            // The bounce mailbox is read every few minutes when one is configured (the job returns at once otherwise).
            quartz.ScheduleJob<Bounces.BouncePollJob>(
                trigger => trigger.WithIdentity("bounce-mailbox", "system").StartNow()
                    .WithSimpleSchedule(schedule => schedule.WithInterval(bounces.PollInterval).RepeatForever()
                        .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
                job => job.WithIdentity(Bounces.BouncePollJob.Key));
            // One durable job for every campaign; each campaign's trigger says which (CampaignSchedules).
            quartz.AddJob<CampaignRunJob>(job => job.WithIdentity(CampaignRunJob.Key).StoreDurably().RequestRecovery());
            // Send jobs are recovered on another node when theirs dies mid-run.
            quartz.AddJob<CampaignSendJob>(job => job.WithIdentity(CampaignSendJob.Key).StoreDurably().RequestRecovery());
        });
        // Keep a stored trigger as it is: replacing it at start-up would forget a firing missed while every node
        // was down, which must still run once. (A changed cron therefore takes effect by rescheduling, not restart.)
        services.Configure<QuartzOptions>(quartz => quartz.Scheduling.IgnoreDuplicates = true);
        if (!runScheduler) return services;
        services.AddQuartzHostedService(hosted =>
        {
            hosted.WaitForJobsToComplete = true;
            // Start the scheduler as part of the host's start (after StartupTasks has migrated), not just after it:
            // a node that answers requests then always has a running scheduler, and /health never reports a node
            // in that window as unhealthy.
            hosted.AwaitApplicationStarted = false;
        });
        services.AddHealthChecks().AddQuartz(_ => { });
        return services;
    }
}

/// <summary>The nightly metrics refresh. Running it twice is harmless: each run recomputes the whole table.</summary>
[DisallowConcurrentExecution]
public sealed class MetricsRefreshJob(MetricsRefresh refresh, Kpis.DashboardFigures figures, ILogger<MetricsRefreshJob> log) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var result = await refresh.RunAsync(null, cancellationToken);
        await figures.ComputeAsync(cancellationToken);
        log.LogInformation("Nightly metrics refresh: {Customers} customers in {DurationMs} ms", result.Customers, result.DurationMs);
    }
}
