using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using System.ComponentModel;
using Hangfire;
using Hangfire.Server;
using RetentionCampaigns.Data;
using RetentionCampaigns.Scheduling;
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
    /// <summary>The send job holding the row (claimed or sending): its lease in <see cref="SendLeases"/>.</summary>
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
/// as the scheduler may run a job more than once.
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
            // Until autovacuum gathers them (a minute or more later), PostgreSQL's statistics have not seen this run: it
            // plans the send jobs' statements on the run's rows for one row, not thousands (the claim went through the
            // whole run that way; see DeliveryLedger). Gathered once here, before any send job starts; a run this small
            // costs little either way.
            if (db.IsPostgres && run.Members >= 1_000) await connection.ExecuteAsync("ANALYZE deliveries", ct: ct);
            log.LogInformation("Run {RunId} of campaign {CampaignId}: {Members} members, {HeldOut} held out.", run.Id, campaign.Id, run.Members, run.HeldOut);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

/// <summary>Fires a campaign's run. Any node may take it; the run and ledger make a repeated firing harmless.</summary>
[AutomaticRetry(Attempts = 5, DelaysInSeconds = [5, 30, 120, 600, 1800])]
public sealed class CampaignRunJob(CampaignRuns runs, CampaignSchedules schedules, RetentionDb db, ILogger<CampaignRunJob> log)
{
    /// <param name="slot">The slot of a one-off or "run now" job; null for a recurring campaign's (found from its cron).</param>
    [DisplayName("Campaign {0}: start a run")]
    public async Task RunAsync(long campaignId, DateTime? slot, PerformContext? context, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == campaignId, ct);
        if (campaign is null) return;
        if (slot is null)
        {
            if (campaign.ScheduleKind != "cron" || CronSchedule.Parse(campaign.Cron).Schedule is not { } cron) return;
            // Hangfire records when it fired the job for (a late catch-up fires for the time it caught up at); the
            // run's key is the cron's latest slot up to then, the same on whichever node fired it.
            var firedAt = context?.GetJobParameter<long?>("Time") is { } seconds ? DateTime.UnixEpoch.AddSeconds(seconds)
                : context?.BackgroundJob.CreatedAt ?? DateTime.UtcNow;
            slot = cron.Latest(firedAt, TimeZoneInfo.FindSystemTimeZoneById(campaign.TimeZone)) ?? firedAt;
            // Hangfire's recurring jobs have no active period: ours is checked here.
            if (campaign.ActiveFrom > slot || campaign.ActiveUntil < slot)
            {
                log.LogInformation("Campaign {CampaignId}: slot {Slot} lies outside its active period; no run.", campaignId, slot);
                return;
            }
        }
        else if (campaign.ScheduleKind == "once" && campaign.ScheduledJobId is not null && context?.BackgroundJob.Id is { } jobId && jobId != campaign.ScheduledJobId)
        {
            // A one-off's planned job left behind by a change (its deletion failed): the campaign's current job decides.
            log.LogInformation("Campaign {CampaignId}: job {JobId} is no longer its planned send; no run.", campaignId, jobId);
            return;
        }
        else if (slot.Value - DateTime.UtcNow is { Ticks: > 0 } early && early < TimeSpan.FromMinutes(1))
        {
            // A planned one-off is due one schedule poll early (CampaignSchedules.SyncAsync), so it starts on the second.
            await Task.Delay(early, ct);
        }
        // Whole seconds: the slot is a key, and stores keep different sub-second precision.
        var at = DateTime.SpecifyKind(slot.Value, DateTimeKind.Utc);
        at = new DateTime(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        var run = await runs.StartAsync(campaignId, at, ct);
        if (run is null) return;
        schedules.StartSenders(run.Id);
    }
}

/// <summary>
/// Keeps each campaign's Hangfire job in step with its state: a scheduled recurring campaign has a recurring job in
/// its time zone, a scheduled one-off campaign a delayed job at its time; every other state none.
/// </summary>
public sealed class CampaignSchedules(IBackgroundJobClient jobs, IRecurringJobManager recurring, JobStorage storage, RetentionDb db,
    IConfiguration configuration, SchedulingOptions scheduling, ILogger<CampaignSchedules> log)
{
    public static string RecurringIdFor(long campaignId) => $"campaign-{campaignId}";

    /// <summary>The run's send jobs (<c>Scheduling:SendWorkersPerRun</c>): any node may take one; each hands on to a fresh one while work is left.</summary>
    public void StartSenders(long runId)
    {
        var workers = Math.Clamp(configuration.GetValue("Scheduling:SendWorkersPerRun", 4), 1, 16);
        for (var worker = 1; worker <= workers; worker++) CampaignSendJob.Enqueue(jobs, runId);
    }

    /// <summary>
    /// The system pauses a campaign (template errors at run time, too many delivery errors) and says why on the
    /// campaign; a campaign whose state allows no pause is left as it is.
    /// </summary>
    public async Task<bool> PauseAsync(RetentionDb context, long campaignId, string reason, DateTime now, CancellationToken ct)
    {
        var campaign = await context.Campaigns.FirstAsync(c => c.Id == campaignId, ct);
        if (!CampaignStates.Allowed(campaign.State, "pause", out var paused)) return false;
        (campaign.State, campaign.StateReason, campaign.UpdatedAt) = (paused, reason, now);
        await context.SaveChangesAsync(ct);
        await CampaignRuns.MoveOpenRunsAsync(context, campaignId, RunStates.Sending, RunStates.Paused, ct);
        await SyncAsync(campaign, ct);
        return true;
    }

    /// <summary>
    /// A run now (its slot is this moment): an extra one of a recurring campaign, or a one-off campaign's run instead
    /// of the planned one, whose job goes.
    /// </summary>
    public async Task RunNowAsync(Campaign campaign, DateTime now, CancellationToken ct)
    {
        if (campaign.ScheduleKind == "once") await ForgetPlannedAsync(campaign, ct);
        jobs.Enqueue<CampaignRunJob>(job => job.RunAsync(campaign.Id, now, null, CancellationToken.None));
    }

    /// <summary>Puts back a scheduled campaign's job when it has none (a recurring run that finished after a pause).</summary>
    public async Task EnsureJobAsync(Campaign campaign, CancellationToken ct)
    {
        if (campaign.State != CampaignStates.Scheduled || HasJob(campaign)) return;
        await SyncAsync(campaign, ct);
    }

    /// <summary>At start: every scheduled campaign has its job (the schedules moved from Quartz get theirs here).</summary>
    public async Task EnsureAllAsync(CancellationToken ct)
    {
        var scheduled = await db.Campaigns.Where(c => c.State == CampaignStates.Scheduled).ToListAsync(ct);
        foreach (var campaign in scheduled) await EnsureJobAsync(campaign, ct);
    }

    bool HasJob(Campaign campaign)
    {
        using var connection = storage.GetConnection();
        if (campaign.ScheduleKind != "once") return connection.GetAllEntriesFromHash($"recurring-job:{RecurringIdFor(campaign.Id)}") is { Count: > 0 };
        if (campaign.ScheduledJobId is null) return false;
        var state = connection.GetStateData(campaign.ScheduledJobId)?.Name;
        return state == Hangfire.States.ScheduledState.StateName || state == Hangfire.States.EnqueuedState.StateName
            || state == Hangfire.States.ProcessingState.StateName;
    }

    /// <summary>Brings the campaign's job in step with its state (the campaign row is saved by the caller or here).</summary>
    public async Task SyncAsync(Campaign campaign, CancellationToken ct)
    {
        recurring.RemoveIfExists(RecurringIdFor(campaign.Id));
        await ForgetPlannedAsync(campaign, ct);
        if (campaign.State != CampaignStates.Scheduled) return;
        if (campaign.ScheduleKind == "once")
        {
            var at = DateTime.SpecifyKind(campaign.SendAt!.Value, DateTimeKind.Utc);
            // A time already past runs at once (a node was down at that moment, or the marketer scheduled late).
            // Due one schedule poll early: Hangfire moves a due job to the queue only at its next look, and the job
            // waits for the exact moment itself (CampaignRunJob).
            var early = scheduling.SchedulePollingInterval < TimeSpan.FromSeconds(30) ? scheduling.SchedulePollingInterval : TimeSpan.FromSeconds(30);
            var jobId = jobs.Schedule<CampaignRunJob>(job => job.RunAsync(campaign.Id, at, null, CancellationToken.None), new DateTimeOffset(at - early));
            await SetPlannedAsync(campaign, jobId, ct);
            return;
        }
        var zone = TimeZoneInfo.FindSystemTimeZoneById(campaign.TimeZone);
        // Relaxed: slots missed while every node was down run once when one is back (never one per missed slot).
        recurring.AddOrUpdate<CampaignRunJob>(RecurringIdFor(campaign.Id), job => job.RunAsync(campaign.Id, null, null, CancellationToken.None),
            campaign.Cron!, new RecurringJobOptions { TimeZone = zone, MisfireHandling = MisfireHandlingMode.Relaxed });
    }

    async Task ForgetPlannedAsync(Campaign campaign, CancellationToken ct)
    {
        if (campaign.ScheduledJobId is not { } jobId) return;
        if (!jobs.Delete(jobId)) log.LogDebug("Campaign {CampaignId}: planned job {JobId} was already gone.", campaign.Id, jobId);
        await SetPlannedAsync(campaign, null, ct);
    }

    async Task SetPlannedAsync(Campaign campaign, string? jobId, CancellationToken ct)
    {
        campaign.ScheduledJobId = jobId;
        await db.Campaigns.Where(c => c.Id == campaign.Id).ExecuteUpdateAsync(u => u.SetProperty(c => c.ScheduledJobId, jobId), ct);
    }
}
