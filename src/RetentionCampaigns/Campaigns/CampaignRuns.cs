using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Quartz;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Campaigns;

public sealed class CampaignRun
{
    public long Id { get; set; }
    public long CampaignId { get; set; }
    /// <summary>The schedule slot the run was fired for; unique per campaign, so a repeated job finds its own run.</summary>
    public DateTime Slot { get; set; }
    public int SegmentVersion { get; set; }
    public int TemplateVersion { get; set; }
    public string State { get; set; } = RunStates.Snapshotting;
    public int Members { get; set; }
    public int HeldOut { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime ValidUntil { get; set; }
    public DateTime? FinishedAt { get; set; }
}

/// <summary>One customer in one run: what happened and why (DESIGN invariants 1 and 3).</summary>
public sealed class Delivery
{
    public long RunId { get; set; }
    public long CustomerId { get; set; }
    public required string Status { get; set; }
    public string? Reason { get; set; }
    public DateTime? NotBefore { get; set; }
    public int Attempts { get; set; }
    /// <summary>The Quartz fire instance of the send job holding the row (claimed or sending).</summary>
    public string? ClaimedBy { get; set; }
    public string? MessageId { get; set; }
    public string? Reply { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class RunStates
{
    public const string Snapshotting = "snapshotting", Sending = "sending", Paused = "paused", Completed = "completed", Cancelled = "cancelled";
}

public static class DeliveryStatuses
{
    public const string Pending = "pending", HeldOut = "held_out", Deferred = "deferred", Skipped = "skipped", Claimed = "claimed", Sending = "sending",
        Sent = "sent", Failed = "failed", InDoubt = "in_doubt",
        /// <summary>Not sent because the campaign was cancelled: a marketer's decision, not a skip for the customer's sake.</summary>
        Cancelled = "cancelled";

    public static readonly string[] All = [Pending, HeldOut, Deferred, Skipped, Claimed, Sending, Sent, Failed, InDoubt, Cancelled];
}

/// <summary>
/// Starts runs: the run row for a schedule slot, then the snapshot of the segment's members into the delivery
/// ledger with the holdout assigned, in one statement. Both steps are idempotent (unique slot, ledger primary key),
/// as Quartz may run a job more than once.
/// </summary>
public sealed class CampaignRuns(RetentionDb db, CampaignSchedules schedules, TimeProvider clock, ILogger<CampaignRuns> log)
{
    /// <summary>The holdout bucket of a customer in a campaign, 0-99: the same answer every time (mirrors the SQL).</summary>
    public static int HoldoutBucket(long campaignId, long customerId) =>
        (int)((customerId + campaignId * 7919) * 2654435761L % 4294967291L % 100);

    static string HoldoutBucketSql(string customerId) => $"(({customerId} + @campaign * 7919) * 2654435761 % 4294967291 % 100)";

    public async Task<CampaignRun?> StartAsync(long campaignId, DateTime slot, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == campaignId, ct);
        if (campaign is null || campaign.State is not (CampaignStates.Scheduled or CampaignStates.Running))
        {
            log.LogInformation("Campaign {CampaignId} fired for {Slot} but is {State}; no run.", campaignId, slot, campaign?.State ?? "gone");
            return null;
        }
        var now = clock.GetUtcNow().UtcDateTime;
        var segment = await db.Segments.AsNoTracking().FirstAsync(s => s.Id == campaign.SegmentId, ct);
        var template = await db.Templates.AsNoTracking().FirstAsync(t => t.Id == campaign.TemplateId, ct);

        var run = await db.CampaignRuns.FirstOrDefaultAsync(r => r.CampaignId == campaignId && r.Slot == slot, ct);
        if (run is null)
        {
            // The template may have been saved with errors since the campaign was scheduled: such a version never
            // goes out (it may lack the unsubscribe link or the postal address); the campaign waits for a person.
            var valid = await db.TemplateVersions.Where(v => v.TemplateId == template.Id && v.Version == template.Version).Select(v => v.Valid).FirstAsync(ct);
            if (!valid)
            {
                await schedules.PauseAsync(db, campaignId,
                    $"version {template.Version} of template '{template.Key}' has errors; fix the template, then resume the campaign.", now, ct);
                return null;
            }
            run = new CampaignRun
            {
                CampaignId = campaignId, Slot = slot, SegmentVersion = segment.Version, TemplateVersion = template.Version,
                StartedAt = now, ValidUntil = now.AddHours(campaign.Policy.ValidityHours),
            };
            db.CampaignRuns.Add(run);
            try { await db.SaveChangesAsync(ct); }
            catch (DbUpdateException)
            {
                // Another node started the same slot at the same moment: continue with its run.
                db.ChangeTracker.Clear();
                run = await db.CampaignRuns.FirstAsync(r => r.CampaignId == campaignId && r.Slot == slot, ct);
            }
        }
        if (run.State == RunStates.Snapshotting) await SnapshotAsync(campaign, segment, run, now, ct);
        if (campaign.State == CampaignStates.Scheduled)
            await db.Campaigns.Where(c => c.Id == campaignId && c.State == CampaignStates.Scheduled)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.State, CampaignStates.Running).SetProperty(c => c.UpdatedAt, now), ct);
        return run;
    }

    /// <summary>A cancelled campaign's open runs end: what was not sent yet is cancelled, with the reason (rows a job is sending keep their outcome).</summary>
    public static async Task CancelOpenRunsAsync(RetentionDb db, long campaignId, DateTime now, CancellationToken ct)
    {
        var open = await db.CampaignRuns.Where(r => r.CampaignId == campaignId
                && (r.State == RunStates.Sending || r.State == RunStates.Paused || r.State == RunStates.Snapshotting))
            .Select(r => r.Id).ToListAsync(ct);
        string[] unsent = [DeliveryStatuses.Pending, DeliveryStatuses.Deferred, DeliveryStatuses.Claimed];
        await db.Deliveries.Where(d => open.Contains(d.RunId) && unsent.Contains(d.Status)).ExecuteUpdateAsync(u => u
            .SetProperty(d => d.Status, DeliveryStatuses.Cancelled).SetProperty(d => d.Reason, "the campaign was cancelled")
            .SetProperty(d => d.ClaimedBy, (string?)null).SetProperty(d => d.UpdatedAt, now), ct);
        await db.CampaignRuns.Where(r => open.Contains(r.Id)).ExecuteUpdateAsync(u => u
            .SetProperty(r => r.State, RunStates.Cancelled).SetProperty(r => r.FinishedAt, now), ct);
    }

    /// <summary>Open runs follow their campaign: paused with it, sending again when it carries on.</summary>
    public static Task MoveOpenRunsAsync(RetentionDb db, long campaignId, string from, string to, CancellationToken ct) =>
        db.CampaignRuns.Where(r => r.CampaignId == campaignId && r.State == from).ExecuteUpdateAsync(u => u.SetProperty(r => r.State, to), ct);

    async Task SnapshotAsync(Campaign campaign, Segment segment, CampaignRun run, DateTime now, CancellationToken ct)
    {
        var rule = SegmentsApi.Stored(segment);
        var query = new SegmentQuery(rule, db.IsPostgres, now);
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var connection = db.Database.GetDbConnection();
            await using (var select = query.Command(connection,
                $"@run, c.id, CASE WHEN {HoldoutBucketSql("c.id")} < @holdout THEN '{DeliveryStatuses.HeldOut}' ELSE '{DeliveryStatuses.Pending}' END, " +
                $"CASE WHEN {HoldoutBucketSql("c.id")} < @holdout THEN 'control group ({campaign.HoldoutPercent} % holdout)' END, @now"))
            {
                select.Transaction = tx.GetDbTransaction();
                select.CommandText = "INSERT INTO deliveries (run_id, customer_id, status, reason, updated_at) " + select.CommandText
                                     + " ON CONFLICT (run_id, customer_id) DO NOTHING";
                select.WithParameters([("@run", run.Id), ("@campaign", campaign.Id), ("@holdout", campaign.HoldoutPercent), ("@now", now)]);
                await select.ExecuteNonQueryAsync(ct);
            }
            var counts = await db.Deliveries.Where(d => d.RunId == run.Id)
                .GroupBy(d => d.Status).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
            run.Members = counts.Sum(c => c.Count);
            run.HeldOut = counts.Where(c => c.Key == DeliveryStatuses.HeldOut).Sum(c => c.Count);
            run.State = RunStates.Sending;
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            log.LogInformation("Run {RunId} of campaign {CampaignId}: {Members} members, {HeldOut} held out.", run.Id, campaign.Id, run.Members, run.HeldOut);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>Fires a campaign's run. Any node may take it; the run and ledger make a repeated firing harmless.</summary>
public sealed class CampaignRunJob(CampaignRuns runs, IConfiguration configuration) : IJob
{
    public static readonly JobKey Key = new("campaign-run", "campaigns");
    public const string CampaignIdKey = "campaignId";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var campaignId = long.Parse(context.MergedJobDataMap.GetString(CampaignIdKey)!, CultureInfo.InvariantCulture);
        var slot = (context.ScheduledFireTimeUtc ?? context.FireTimeUtc).UtcDateTime;
        // Whole seconds: the slot is a key, and stores keep different sub-second precision.
        slot = new DateTime(slot.Ticks - slot.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        var run = await runs.StartAsync(campaignId, slot, cancellationToken);
        if (run is null) return;
        await CampaignSchedules.StartSendersAsync(context.Scheduler, configuration, run.Id, cancellationToken);
    }
}

/// <summary>Keeps each campaign's Quartz trigger in step with its state: scheduled has a trigger, every other state none.</summary>
public sealed class CampaignSchedules(ISchedulerFactory schedulers, IConfiguration configuration)
{
    public static TriggerKey TriggerKeyFor(long campaignId) => new($"campaign-{campaignId}", "campaigns");

    /// <summary>The run's send jobs (<c>Scheduling:SendWorkersPerRun</c>): any node may take one; each hands on to a fresh one while work is left.</summary>
    public static async Task StartSendersAsync(IScheduler scheduler, IConfiguration configuration, long runId, CancellationToken ct)
    {
        var workers = Math.Clamp(configuration.GetValue("Scheduling:SendWorkersPerRun", 4), 1, 16);
        for (var worker = 1; worker <= workers; worker++)
            await CampaignSendJob.ScheduleAsync(scheduler, runId, $"worker-{worker}-{Guid.NewGuid():N}", DateTimeOffset.UtcNow, ct);
    }

    /// <summary>
    /// The system pauses a campaign (template errors at run time, too many delivery errors) and says why on the
    /// campaign; a campaign whose state allows no pause is left as it is.
    /// </summary>
    public async Task<bool> PauseAsync(RetentionDb db, long campaignId, string reason, DateTime now, CancellationToken ct)
    {
        var campaign = await db.Campaigns.FirstAsync(c => c.Id == campaignId, ct);
        if (!CampaignStates.Allowed(campaign.State, "pause", out var paused)) return false;
        (campaign.State, campaign.StateReason, campaign.UpdatedAt) = (paused, reason, now);
        await db.SaveChangesAsync(ct);
        await CampaignRuns.MoveOpenRunsAsync(db, campaignId, RunStates.Sending, RunStates.Paused, ct);
        await SyncAsync(campaign, ct);
        return true;
    }

    public async Task StartSendersAsync(long runId, CancellationToken ct) =>
        await StartSendersAsync(await schedulers.GetScheduler(ct), configuration, runId, ct);

    /// <summary>
    /// A run now (its slot is this moment): an extra one of a recurring campaign, or a one-off campaign's run instead
    /// of the planned one, whose trigger goes.
    /// </summary>
    public async Task RunNowAsync(Campaign campaign, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        if (campaign.ScheduleKind == "once") await scheduler.UnscheduleJob(TriggerKeyFor(campaign.Id), ct);
        await scheduler.ScheduleJob(TriggerBuilder.Create().WithIdentity($"campaign-{campaign.Id}-now-{Guid.NewGuid():N}", "campaigns").ForJob(CampaignRunJob.Key)
            .UsingJobData(CampaignRunJob.CampaignIdKey, campaign.Id.ToString(CultureInfo.InvariantCulture)).StartNow()
            .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow)).Build(), ScheduleJobOptions.Replacing, ct);
    }

    /// <summary>Puts back a scheduled campaign's trigger when it has none (a recurring run that finished after a pause).</summary>
    public async Task EnsureTriggerAsync(Campaign campaign, CancellationToken ct)
    {
        if (campaign.State != CampaignStates.Scheduled) return;
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(TriggerKeyFor(campaign.Id), ct)) await SyncAsync(campaign, ct);
    }

    public async Task SyncAsync(Campaign campaign, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var key = TriggerKeyFor(campaign.Id);
        await scheduler.UnscheduleJob(key, ct);
        if (campaign.State != CampaignStates.Scheduled) return;

        var trigger = TriggerBuilder.Create().WithIdentity(key).ForJob(CampaignRunJob.Key)
            .UsingJobData(CampaignRunJob.CampaignIdKey, campaign.Id.ToString(CultureInfo.InvariantCulture))
            .WithPriority(5 + Math.Clamp(campaign.Priority / 20, -4, 5));
        if (campaign.ScheduleKind == "once")
        {
            trigger = trigger.StartAt(new DateTimeOffset(campaign.SendAt!.Value, TimeSpan.Zero))
                .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow));
        }
        else
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(campaign.TimeZone);
            // A slot missed while every node was down runs once when one is back (never "ignore misfires").
            trigger = trigger.WithCronSchedule(campaign.Cron!, cron => cron.InTimeZone(zone).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed));
            if (campaign.ActiveFrom is { } from) trigger = trigger.StartAt(new DateTimeOffset(from, TimeSpan.Zero));
            if (campaign.ActiveUntil is { } until) trigger = trigger.EndAt(new DateTimeOffset(until, TimeSpan.Zero));
        }
        await scheduler.ScheduleJob(trigger.Build(), ScheduleJobOptions.Replacing, ct);
    }
}
