using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Quartz;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// Sends a run's pending deliveries, a claimed batch at a time. Each message is marked "sending" just before it
/// goes on the wire and gets its outcome right after, so a node that dies leaves at most its in-flight message in
/// doubt; rows it had only claimed go back to pending. Consent is checked per batch just before sending.
/// </summary>
public sealed class CampaignSender(RetentionDb db, TemplateEngine engine, TemplateModelBuilder models, IMailTransport transport,
    SendRateLimits rates, CampaignSchedules schedules, IOptions<ShopOptions> shop, TimeProvider clock, ILogger<CampaignSender> log)
{
    const int BatchSize = 100;
    static readonly TimeSpan[] Backoff = [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)];

    public sealed record Progress(int Sent, int Failed, int Retrying, int Skipped, int InDoubt, DateTime? NextAttemptAt, bool RunFinished);

    public async Task<Progress> SendAsync(long runId, string fireInstanceId, CancellationToken ct)
    {
        var run = await db.CampaignRuns.AsNoTracking().FirstAsync(r => r.Id == runId, ct);
        var campaign = await db.Campaigns.AsNoTracking().FirstAsync(c => c.Id == run.CampaignId, ct);
        var version = await db.TemplateVersions.AsNoTracking().FirstAsync(v => v.TemplateId == campaign.TemplateId && v.Version == run.TemplateVersion, ct);
        await ReleaseOrphansAsync(runId, ct);

        int sent = 0, failed = 0, retrying = 0, skipped = 0, inDoubt = 0, deferred = 0;
        while (!ct.IsCancellationRequested)
        {
            if (await db.Campaigns.Where(c => c.Id == campaign.Id).Select(c => c.State).FirstAsync(ct) != CampaignStates.Running) break; // paused or cancelled
            var claimed = await ClaimAsync(runId, fireInstanceId, ct);
            if (claimed.Count == 0) break;
            var allowed = await MarketingAllowedAsync(claimed, ct);
            foreach (var refused in claimed.Where(id => !allowed.Contains(id)))
            {
                await RecordAsync(runId, refused, fireInstanceId, DeliveryStatuses.Skipped, "no marketing consent at send time", null, null, ct);
                skipped++;
            }
            var recipients = await models.BuildAsync(allowed, version.Content.Keys, campaign.DefaultLocale,
                new CampaignView { Name = campaign.Name, Key = campaign.Id.ToString(CultureInfo.InvariantCulture) }, null, ct);
            var now = clock.GetUtcNow().UtcDateTime;
            var zones = await db.Customers.Where(c => allowed.Contains(c.Id)).ToDictionaryAsync(c => c.Id, c => c.TimeZone, ct);
            var recent = await RecentSendsAsync(allowed, campaign.Policy, now, ct);
            foreach (var customerId in allowed)
            {
                if (!recipients.TryGetValue(customerId, out var recipient))
                {
                    await RecordAsync(runId, customerId, fireInstanceId, DeliveryStatuses.Skipped, "the customer no longer exists", null, null, ct);
                    skipped++;
                    continue;
                }
                var decision = SendPolicy.Decide(campaign, now, run.ValidUntil, zones.GetValueOrDefault(customerId, shop.Value.TimeZone),
                    recent.GetValueOrDefault(customerId, []));
                if (decision.Status == DeliveryStatuses.Skipped)
                {
                    await RecordAsync(runId, customerId, fireInstanceId, DeliveryStatuses.Skipped, decision.Reason, null, null, ct);
                    skipped++;
                    continue;
                }
                if (decision.Status == DeliveryStatuses.Deferred)
                {
                    await db.Deliveries.Where(d => d.RunId == runId && d.CustomerId == customerId && d.ClaimedBy == fireInstanceId).ExecuteUpdateAsync(u => u
                        .SetProperty(d => d.Status, DeliveryStatuses.Deferred).SetProperty(d => d.Reason, decision.Reason)
                        .SetProperty(d => d.NotBefore, decision.NotBefore).SetProperty(d => d.ClaimedBy, (string?)null)
                        .SetProperty(d => d.UpdatedAt, now), ct);
                    deferred++;
                    continue;
                }
                var outcome = await SendOneAsync(run, campaign, version, recipient, fireInstanceId, ct);
                switch (outcome)
                {
                    case null: skipped++; break;
                    case SendOutcome.Accepted: sent++; break;
                    case SendOutcome.Transient: retrying++; break;
                    case SendOutcome.InDoubt: inDoubt++; break;
                    default: failed++; break;
                }
            }
            if (TooManyErrors(sent, failed + retrying + inDoubt))
            {
                await PauseForErrorsAsync(campaign.Id, sent, failed + retrying + inDoubt, ct);
                break;
            }
        }
        var next = await db.Deliveries
            .Where(d => d.RunId == runId && (d.Status == DeliveryStatuses.Pending || d.Status == DeliveryStatuses.Deferred) && d.NotBefore != null)
            .MinAsync(d => d.NotBefore, ct);
        var finished = await TryFinishAsync(run, campaign, ct);
        log.LogInformation("Run {RunId}: {Sent} sent, {Failed} failed, {Retrying} to retry, {Deferred} deferred, {Skipped} skipped, {InDoubt} in doubt.",
            runId, sent, failed, retrying, deferred, skipped, inDoubt);
        return new Progress(sent, failed, retrying + deferred, skipped, inDoubt, finished ? null : next, finished);
    }

    /// <returns>The transport's outcome, or null when the message was not sent at all (consent withdrawn).</returns>
    async Task<SendOutcome?> SendOneAsync(CampaignRun run, Campaign campaign, TemplateVersion version, Recipient recipient, string me, CancellationToken ct)
    {
        var model = recipient.Model;
        var rendered = engine.Render(version.Content[model.Customer.Locale], model, models.ClickTracker(recipient));
        var message = new OutgoingMessage
        {
            From = EmailAddress.Parse(campaign.SenderEmail ?? shop.Value.SenderEmail, campaign.SenderName ?? shop.Value.Name),
            ReplyTo = campaign.ReplyTo is null ? null : EmailAddress.Parse(campaign.ReplyTo),
            To = [EmailAddress.Parse(recipient.Email)],
            Subject = rendered.Subject,
            TextBody = rendered.Text,
            HtmlBody = rendered.Html,
            UnsubscribeUrl = model.Links.Unsubscribe,
            // One delivery, one header: servers and tests can count messages per (run, customer).
            Headers = [new("X-RC-Delivery", $"{run.Id}-{recipient.CustomerId}"), new("Feedback-ID", $"{run.Id}:{campaign.Id}:rc")],
        };
        // The mark that makes a crash from here on show as "in doubt" rather than as a message to send again. It
        // re-checks consent in the same statement, so a withdrawal committed by now stops this message.
        if (!await MarkSendingAsync(run.Id, recipient.CustomerId, me, ct))
        {
            await RecordAsync(run.Id, recipient.CustomerId, me, DeliveryStatuses.Skipped, "marketing consent withdrawn before sending", null, null, ct);
            return null;
        }
        await rates.WaitAsync(campaign.Id, campaign.Policy.RatePerMinute, ct);
        var result = await transport.SendAsync(message, ct);
        switch (result.Outcome)
        {
            case SendOutcome.Accepted:
                await RecordAsync(run.Id, recipient.CustomerId, me, DeliveryStatuses.Sent, null, result.MessageId, result.Reply, ct);
                break;
            case SendOutcome.Transient:
                var attempts = await db.Deliveries.Where(d => d.RunId == run.Id && d.CustomerId == recipient.CustomerId).Select(d => d.Attempts).FirstAsync(ct) + 1;
                var retryAt = clock.GetUtcNow().UtcDateTime + Backoff[Math.Min(attempts - 1, Backoff.Length - 1)];
                if (retryAt > run.ValidUntil)
                    await RecordAsync(run.Id, recipient.CustomerId, me, DeliveryStatuses.Failed, $"gave up after {attempts} attempts", result.MessageId, result.Reply, ct);
                else
                    await db.Deliveries.Where(d => d.RunId == run.Id && d.CustomerId == recipient.CustomerId).ExecuteUpdateAsync(u => u
                        .SetProperty(d => d.Status, DeliveryStatuses.Pending).SetProperty(d => d.Attempts, attempts).SetProperty(d => d.NotBefore, retryAt)
                        .SetProperty(d => d.Reply, result.Reply).SetProperty(d => d.Reason, "temporary failure; retrying").SetProperty(d => d.ClaimedBy, (string?)null)
                        .SetProperty(d => d.UpdatedAt, clock.GetUtcNow().UtcDateTime), ct);
                break;
            case SendOutcome.Permanent:
                await RecordAsync(run.Id, recipient.CustomerId, me, DeliveryStatuses.Failed, "refused by the mail server", result.MessageId, result.Reply, ct);
                break;
            default:
                await RecordAsync(run.Id, recipient.CustomerId, me, DeliveryStatuses.InDoubt, "the connection was lost after the message was sent", result.MessageId, result.Reply, ct);
                break;
        }
        return result.Outcome;
    }

    /// <summary>At least 20 errors and more errors than successes: the server or the list is in trouble; stop and let a person look.</summary>
    static bool TooManyErrors(int sent, int errors) => errors >= 20 && errors > sent;

    async Task PauseForErrorsAsync(long campaignId, int sent, int errors, CancellationToken ct)
    {
        var campaign = await db.Campaigns.FirstAsync(c => c.Id == campaignId, ct);
        if (!CampaignStates.Allowed(campaign.State, "pause", out var paused)) return;
        campaign.State = paused;
        campaign.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        await schedules.SyncAsync(campaign, ct);
        log.LogWarning("Campaign {CampaignId} paused: {Errors} delivery errors against {Sent} sent in this job. Resume it once the cause is fixed.", campaignId, errors, sent);
    }

    /// <summary>Claims up to a batch of due pending rows for this job; on PostgreSQL other nodes skip the locked ones.</summary>
    async Task<List<long>> ClaimAsync(long runId, string me, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var lockClause = db.IsPostgres ? "FOR UPDATE SKIP LOCKED" : "";
        var sql = $$"""
            UPDATE deliveries SET status = 'claimed', claimed_by = {0}, updated_at = {1}
            WHERE run_id = {2} AND customer_id IN (
                SELECT customer_id FROM deliveries
                WHERE run_id = {2} AND status IN ('pending', 'deferred') AND (not_before IS NULL OR not_before <= {1})
                ORDER BY customer_id LIMIT {{BatchSize}} {{lockClause}})
            RETURNING customer_id AS "Value"
            """;
        return await db.Database.SqlQueryRaw<long>(sql, me, now, runId).ToListAsync(ct);
    }

    /// <summary>Rows held by a send job that is no longer executing anywhere: claimed ones go back, sending ones are in doubt.</summary>
    async Task ReleaseOrphansAsync(long runId, CancellationToken ct)
    {
        const string alive = "SELECT entry_id FROM qrtz_fired_triggers";
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlRawAsync(
            $"UPDATE deliveries SET status = 'pending', claimed_by = NULL, updated_at = {{0}} WHERE run_id = {{1}} AND status = 'claimed' AND claimed_by NOT IN ({alive})",
            [now, runId], ct);
        await db.Database.ExecuteSqlRawAsync(
            $"UPDATE deliveries SET status = 'in_doubt', reason = 'the node sending it stopped before the server''s reply was recorded', updated_at = {{0}} " +
            $"WHERE run_id = {{1}} AND status = 'sending' AND claimed_by NOT IN ({alive})",
            [now, runId], ct);
    }

    async Task<bool> MarkSendingAsync(long runId, long customerId, string me, CancellationToken ct) =>
        await db.Deliveries.Where(d => d.RunId == runId && d.CustomerId == customerId && d.Status == DeliveryStatuses.Claimed && d.ClaimedBy == me
                && db.ConsentEvents.Where(e => e.CustomerId == customerId && e.Purpose == "email_marketing")
                    .OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id)
                    .Select(e => e.Status == "granted" && !e.Objection).FirstOrDefault())
            .ExecuteUpdateAsync(u => u.SetProperty(d => d.Status, DeliveryStatuses.Sending).SetProperty(d => d.UpdatedAt, clock.GetUtcNow().UtcDateTime), ct) == 1;

    Task RecordAsync(long runId, long customerId, string me, string status, string? reason, string? messageId, string? reply, CancellationToken ct) =>
        db.Deliveries.Where(d => d.RunId == runId && d.CustomerId == customerId && d.ClaimedBy == me).ExecuteUpdateAsync(u => u
            .SetProperty(d => d.Status, status).SetProperty(d => d.Reason, reason).SetProperty(d => d.MessageId, messageId)
            .SetProperty(d => d.Reply, reply).SetProperty(d => d.Attempts, d => d.Attempts + 1)
            .SetProperty(d => d.UpdatedAt, clock.GetUtcNow().UtcDateTime), ct);

    /// <summary>Each customer's marketing emails sent within the longest window the policy looks at.</summary>
    async Task<Dictionary<long, List<RecentSend>>> RecentSendsAsync(IReadOnlyCollection<long> customerIds, CampaignPolicy policy, DateTime now, CancellationToken ct)
    {
        var since = now.AddDays(-Math.Max(policy.FrequencyWindowDays, policy.RepeatAfterDays));
        var rows = await (from d in db.Deliveries
                          join r in db.CampaignRuns on d.RunId equals r.Id
                          where customerIds.Contains(d.CustomerId) && d.Status == DeliveryStatuses.Sent && d.UpdatedAt > since
                          select new { d.CustomerId, r.CampaignId, d.UpdatedAt }).ToListAsync(ct);
        return rows.GroupBy(r => r.CustomerId).ToDictionary(g => g.Key, g => g.Select(r => new RecentSend(r.CampaignId, r.UpdatedAt)).ToList());
    }

    /// <summary>Customers whose latest email_marketing event is a grant without an objection (DOMAIN.md).</summary>
    async Task<HashSet<long>> MarketingAllowedAsync(List<long> customerIds, CancellationToken ct) =>
        (await ConsentApi.CurrentStatesAsync(db, customerIds, ct))
            .Where(c => c.Value["email_marketing"] is { Status: "granted", Objection: false }).Select(c => c.Key).ToHashSet();

    /// <summary>A run is over when nothing is left to send or retry; then a one-off campaign completes and a recurring one waits.</summary>
    async Task<bool> TryFinishAsync(CampaignRun run, Campaign campaign, CancellationToken ct)
    {
        string[] open = [DeliveryStatuses.Pending, DeliveryStatuses.Claimed, DeliveryStatuses.Sending, DeliveryStatuses.Deferred];
        if (await db.Deliveries.AnyAsync(d => d.RunId == run.Id && open.Contains(d.Status), ct)) return false;
        var now = clock.GetUtcNow().UtcDateTime;
        await db.CampaignRuns.Where(r => r.Id == run.Id && r.State == RunStates.Sending)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.State, RunStates.Completed).SetProperty(r => r.FinishedAt, now), ct);
        var action = campaign.ScheduleKind == "once" ? "complete" : "finish";
        CampaignStates.Allowed(CampaignStates.Running, action, out var next);
        await db.Campaigns.Where(c => c.Id == campaign.Id && c.State == CampaignStates.Running)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.State, next).SetProperty(c => c.UpdatedAt, now), ct);
        return true;
    }
}

/// <summary>
/// Sends one run's deliveries. Several may work on a run at once, on any node; a job whose node died is recovered
/// by Quartz on another node. When retries are due later, it schedules itself for then.
/// </summary>
public sealed class CampaignSendJob(CampaignSender sender) : IJob
{
    public static readonly JobKey Key = new("campaign-send", "campaigns");
    public const string RunIdKey = "runId";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var runId = long.Parse(context.MergedJobDataMap.GetString(RunIdKey)!, CultureInfo.InvariantCulture);
        var progress = await sender.SendAsync(runId, context.FireInstanceId, cancellationToken);
        if (progress.NextAttemptAt is { } at)
            await ScheduleAsync(context.Scheduler, runId, $"retry-{at.Ticks}", new DateTimeOffset(at, TimeSpan.Zero), cancellationToken);
    }

    public static async Task ScheduleAsync(IScheduler scheduler, long runId, string name, DateTimeOffset at, CancellationToken ct) =>
        await scheduler.ScheduleJob(TriggerBuilder.Create().WithIdentity($"run-{runId}-{name}", "campaign-sends").ForJob(Key)
            .UsingJobData(RunIdKey, runId.ToString(CultureInfo.InvariantCulture)).StartAt(at)
            .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow)).Build(), ScheduleJobOptions.Replacing, ct);
}
