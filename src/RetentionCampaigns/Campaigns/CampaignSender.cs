using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using System.ComponentModel;
using Hangfire;
using Hangfire.Server;
using RetentionCampaigns.Api;
using RetentionCampaigns.Bounces;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Preferences;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// Sends a run's pending deliveries: claims a batch, decides for each member (consent, suppression, frequency cap,
/// quiet hours), then sends chunks of at most half the node's send window at once. A chunk is marked "sending" just
/// before it goes on the wire (re-checking consent and suppression in that statement) and gets its outcomes right
/// after, so a node that dies leaves at most its window in doubt; rows it had only claimed go back to pending.
/// </summary>
public sealed class CampaignSender(RetentionDb db, DeliveryLedger ledger, TemplateEngine engine, TemplateModelBuilder models, IMailTransport transport,
    SendWindow window, SendRateLimits rates, SuppressionList suppressions, ReturnPaths returnPaths, CampaignSchedules schedules, IOptions<ShopOptions> shop,
    IConfiguration configuration, TimeProvider clock, ILogger<CampaignSender> log)
{
    const int BatchSize = 200;
    /// <summary>
    /// How long one send job works before handing on to a fresh one that any node may take: spreads a run over every
    /// node, including ones that joined after it started (<c>Scheduling:SendJobSeconds</c>).
    /// </summary>
    TimeSpan JobTime => TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("Scheduling:SendJobSeconds", 20)));
    /// <summary>
    /// How long before its end a job enqueues its successor: a little more than an idle send worker's next look at
    /// the queue (1 s, <c>Scheduling:QueuePollInterval</c>), so the successor starts as this one stops, on a node with
    /// a send worker free (another node's, or this one's once this job ends).
    /// </summary>
    internal static readonly TimeSpan HandOff = TimeSpan.FromSeconds(2);
    /// <summary>Waits before retrying after a temporary failure, by attempt (<c>Campaigns:RetryBackoff</c>, e.g. "00:01:00,00:05:00").</summary>
    TimeSpan[] Backoff => configuration["Campaigns:RetryBackoff"] is { Length: > 0 } text
        ? text.Split(',').Select(t => TimeSpan.Parse(t.Trim(), CultureInfo.InvariantCulture)).ToArray()
        : DefaultBackoff;
    /// <summary>How often a job looks whether its campaign was paused or cancelled (so that takes effect within seconds).</summary>
    static readonly TimeSpan StateCheckInterval = TimeSpan.FromSeconds(1);
    static readonly TimeSpan[] DefaultBackoff = [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)];

    public sealed record Progress(int Sent, int Failed, int Retrying, int Skipped, int InDoubt, DateTime? NextAttemptAt, bool RunFinished);

    sealed class Tally
    {
        public int Sent, Failed, Retrying, Skipped, InDoubt, Deferred;
        public int Errors => Failed + Retrying + InDoubt;
    }

    /// <param name="SentBecause">What the ledger says of the message once sent: the segment version and the consent it went out under.</param>
    sealed record Ready(Recipient Recipient, string AddressHash, int Attempts, string SentBecause);

    /// <param name="me">This job's lease (<see cref="SendLeases"/>): the ledger rows it claims carry it.</param>
    /// <param name="enqueueSuccessor">
    /// Called once, a little before this job's time is up with work left, or when it is stopped (its node shuts
    /// down) with work left, to enqueue the job that carries on; any node may take it (null: work until nothing is left).
    /// </param>
    public async Task<Progress> SendAsync(long runId, string me, CancellationToken ct, Action? enqueueSuccessor = null)
    {
        var run = await db.CampaignRuns.AsNoTracking().FirstAsync(r => r.Id == runId, ct);
        var campaign = await db.Campaigns.AsNoTracking().FirstAsync(c => c.Id == run.CampaignId, ct);
        var version = await db.TemplateVersions.AsNoTracking().FirstAsync(v => v.TemplateId == campaign.TemplateId && v.Version == run.TemplateVersion, ct);
        if (!version.Valid)
        {
            // Runs start only on a version that passed its checks; a run recorded before that rule sends nothing either.
            await schedules.PauseAsync(db, campaign.Id, $"the run's template version {version.Version} has errors; nothing was sent. Fix the template and start a new run.",
                clock.GetUtcNow().UtcDateTime, ct);
            return new Progress(0, 0, 0, 0, 0, null, false);
        }
        var tally = new Tally();
        var checkedAt = DateTime.MinValue;
        var until = DateTime.UtcNow + JobTime;
        var handOffAt = until - HandOff;
        var successorEnqueued = enqueueSuccessor is null;
        var renewedAt = clock.GetUtcNow().UtcDateTime;
        var stopped = false;
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await SendLeases.TakeAsync(db, me, renewedAt, ct);
            await ledger.ReleaseOrphansAsync(runId, ct);
            var stop = false;
            List<DeliveryOutcome> unwritten = [];
            try
            {
                while (!stop && !ct.IsCancellationRequested)
                {
                    if (!await StillRunningAsync(force: true)) { stopped = true; break; }
                    if (!successorEnqueued && DateTime.UtcNow >= handOffAt)
                    {
                        enqueueSuccessor!();
                        successorEnqueued = true;
                    }
                    if (enqueueSuccessor is not null && DateTime.UtcNow >= until) break;
                    var claimed = await ledger.ClaimAsync(runId, me, BatchSize, ct);
                    if (claimed.Count == 0) break;
                    var ready = await PrepareAsync(run, campaign, version, claimed, me, tally, ct);
                    if (ready.Count == 0) continue;
                    // This job's share of the node's send window, held for the batch: at most this many of its rows are
                    // "sending" at any committed moment, as each statement writes one chunk's outcomes and marks the next.
                    using var slots = await window.TakeAsync(window.ChunkSize, ct);
                    var tooManyErrors = false;
                    foreach (var chunk in ready.Chunk(window.ChunkSize))
                    {
                        if (ct.IsCancellationRequested) { stop = true; break; }
                        if (!await StillRunningAsync(force: false)) { stop = stopped = true; break; }
                        unwritten = await SendChunkAsync(run, campaign, version, chunk, unwritten, me, tally, ct);
                        if (tooManyErrors = TooManyErrors(tally.Sent, tally.Errors)) { stop = true; break; }
                    }
                    await ledger.WriteAsync(runId, me, unwritten, CancellationToken.None);
                    unwritten = [];
                    if (tooManyErrors) await PauseForErrorsAsync(campaign.Id, tally.Sent, tally.Errors, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The node is stopping: what went out is written; the rest is handed back below.
                await ledger.WriteAsync(runId, me, unwritten, CancellationToken.None);
            }
            // Rows claimed but not reached (paused, cancelled, shutting down) go back for whoever continues the run.
            await ledger.ReleaseClaimsAsync(runId, me, CancellationToken.None);
            await SendLeases.ReturnAsync(db, me, CancellationToken.None);
            // Stopped with its node, work left: another node carries on at once.
            if (ct.IsCancellationRequested && !stopped && !successorEnqueued) enqueueSuccessor!();
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        var next = await db.Deliveries
            .Where(d => d.RunId == runId && (d.Status == DeliveryStatuses.Pending || d.Status == DeliveryStatuses.Deferred) && d.NotBefore != null)
            .MinAsync(d => d.NotBefore, CancellationToken.None);
        var finished = await TryFinishAsync(run, campaign, CancellationToken.None);
        log.LogInformation("Run {RunId}: {Sent} sent, {Failed} failed, {Retrying} to retry, {Deferred} deferred, {Skipped} skipped, {InDoubt} in doubt.",
            runId, tally.Sent, tally.Failed, tally.Retrying, tally.Deferred, tally.Skipped, tally.InDoubt);
        return new Progress(tally.Sent, tally.Failed, tally.Retrying + tally.Deferred, tally.Skipped, tally.InDoubt, finished ? null : next, finished);

        async Task<bool> StillRunningAsync(bool force)
        {
            var now = DateTime.UtcNow;
            if (!force && now - checkedAt < StateCheckInterval) return true;
            checkedAt = now;
            if (clock.GetUtcNow().UtcDateTime is var leaseNow && leaseNow - renewedAt >= SendLeases.RenewEvery)
                await SendLeases.RenewAsync(db, me, renewedAt = leaseNow, ct);
            return await db.Campaigns.Where(c => c.Id == campaign.Id).Select(c => c.State).FirstAsync(ct) == CampaignStates.Running;
        }
    }

    /// <summary>Decides for a claimed batch: who is skipped or deferred (written at once), who is ready to send.</summary>
    async Task<List<Ready>> PrepareAsync(CampaignRun run, Campaign campaign, TemplateVersion version, List<ClaimedDelivery> claimed, string me,
        Tally tally, CancellationToken ct)
    {
        var ids = claimed.Select(c => c.CustomerId).ToList();
        var consent = await ConsentApi.CurrentStatesAsync(db, ids, ct);
        var allowed = consent.Where(c => c.Value["email_marketing"] is { Status: "granted", Objection: false }).Select(c => c.Key).ToHashSet();
        var erased = (await db.Customers.Where(c => allowed.Contains(c.Id) && c.ErasedAt != null).Select(c => c.Id).ToListAsync(ct)).ToHashSet();
        allowed.ExceptWith(erased);
        var referralLinks = TemplateModelBuilder.UsesReferralLink(version.Content.Values);
        var recipients = await models.BuildAsync(allowed, version.Content.Keys, campaign.DefaultLocale,
            new CampaignView { Name = campaign.Name, Key = campaign.Id.ToString(CultureInfo.InvariantCulture) }, null, ct, consent, referralLinks);
        var hashes = recipients.Values.ToDictionary(r => r.CustomerId, r => suppressions.Hash(r.Email));
        var hashList = hashes.Values.ToList();
        var suppressed = await db.Suppressions.Where(s => hashList.Contains(s.AddressHash)).ToDictionaryAsync(s => s.AddressHash, s => s.Reason, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var recent = await RecentSendsAsync(allowed, campaign.Policy, now, ct);
        var preferences = await db.CustomerPreferences.AsNoTracking().Where(p => allowed.Contains(p.CustomerId)).ToDictionaryAsync(p => p.CustomerId, ct);

        var outcomes = new List<DeliveryOutcome>();
        var ready = new List<Ready>();
        foreach (var (customerId, attempts) in claimed)
        {
            if (erased.Contains(customerId))
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, "the customer's personal data was erased"));
            else if (!allowed.Contains(customerId))
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, "no marketing consent at send time"));
            else if (!recipients.TryGetValue(customerId, out var recipient))
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, "the customer no longer exists"));
            else if (suppressed.TryGetValue(hashes[customerId], out var why))
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, $"the address is on the suppression list ({why.Replace('_', ' ')})"));
            else if (referralLinks && recipient.Model.Links.Referral is null)
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, "the customer left the referral program (no referral link)"));
            else if (preferences.TryGetValue(customerId, out var chosen)
                     && chosen.Refusal(campaign.Topic, now, recent.GetValueOrDefault(customerId)?.Max(r => (DateTime?)r.SentAt)) is { } refusal)
                outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Skipped, refusal));
            else
            {
                var decision = SendPolicy.Decide(campaign, now, run.ValidUntil, recipient.TimeZone, recent.GetValueOrDefault(customerId, []));
                if (decision.Status == DeliveryStatuses.Sending)
                    ready.Add(new Ready(recipient, hashes[customerId], attempts, SentBecause(run.SegmentVersion, consent[customerId]["email_marketing"].LawfulBasis)));
                else outcomes.Add(new DeliveryOutcome(customerId, decision.Status, decision.Reason, NotBefore: decision.NotBefore));
            }
        }
        if (campaign.Offer is { } offer && ready.Count > 0) ready = await AttachCouponsAsync(run, campaign.Id, offer, ready, outcomes, now, ct);
        await ledger.WriteAsync(run.Id, me, outcomes, ct);
        tally.Skipped += outcomes.Count(o => o.Status == DeliveryStatuses.Skipped);
        tally.Deferred += outcomes.Count(o => o.Status == DeliveryStatuses.Deferred);
        return ready;
    }

    /// <summary>
    /// Gives each ready recipient the run's coupon for them (the one issued before, when the message is retried); a
    /// recipient the pool has no code left for is skipped, as the email would promise a coupon it cannot show.
    /// </summary>
    async Task<List<Ready>> AttachCouponsAsync(CampaignRun run, long campaignId, CampaignOffer offer, List<Ready> ready, List<DeliveryOutcome> outcomes,
        DateTime now, CancellationToken ct)
    {
        var coupons = await CouponIssuer.IssueAsync(db, CouponsApi.CampaignPool(campaignId), offer.Terms(), CouponsIssuedFor(run.Id),
            ready.Select(r => r.Recipient.CustomerId).ToList(), now, ct);
        var currency = shop.Value.Currency;
        var withCoupon = new List<Ready>(ready.Count);
        foreach (var r in ready)
        {
            if (coupons.TryGetValue(r.Recipient.CustomerId, out var coupon))
                withCoupon.Add(r with { Recipient = r.Recipient with { Model = r.Recipient.Model with { Offer = OfferView.For(coupon, currency) } } });
            else
                outcomes.Add(new DeliveryOutcome(r.Recipient.CustomerId, DeliveryStatuses.Skipped,
                    $"no coupon code left in the campaign's pool (upload more: POST /api/campaigns/{campaignId}/coupons)"));
        }
        return withCoupon;
    }

    public static string CouponsIssuedFor(long runId) => $"run:{runId}";

    // A handful of distinct texts per run: made once each, not per message.
    readonly Dictionary<(int, string?), string> sentBecause = [];

    string SentBecause(int segmentVersion, string? basis)
    {
        if (sentBecause.TryGetValue((segmentVersion, basis), out var text)) return text;
        var consent = basis switch
        {
            "consent" => "consent (double opt-in)",
            "existing_customer" => "existing customer (UWG section 7(3))",
            _ => basis ?? "unknown",
        };
        return sentBecause[(segmentVersion, basis)] = $"member of segment version {segmentVersion}; marketing consent: {consent}";
    }

    /// <summary>Writes the previous chunk's outcomes, marks and sends this chunk; returns its outcomes, not yet written.</summary>
    async Task<List<DeliveryOutcome>> SendChunkAsync(CampaignRun run, Campaign campaign, TemplateVersion version, Ready[] chunk,
        List<DeliveryOutcome> previous, string me, Tally tally, CancellationToken ct)
    {
        foreach (var _ in chunk) await rates.WaitAsync(campaign.Id, campaign.Policy.RatePerMinute, ct);
        var marked = await ledger.WriteAndMarkSendingAsync(run.Id, me, previous, chunk.Select(r => (r.Recipient.CustomerId, r.AddressHash)).ToList(), CancellationToken.None);
        var outcomes = chunk.Where(r => !marked.Contains(r.Recipient.CustomerId))
            .Select(r => new DeliveryOutcome(r.Recipient.CustomerId, DeliveryStatuses.Skipped, "marketing consent withdrawn or address suppressed just before sending"))
            .ToList();
        tally.Skipped += outcomes.Count;
        var sending = chunk.Where(r => marked.Contains(r.Recipient.CustomerId)).ToList();
        // Nothing here may be cancelled half-way: a message on the wire gets its outcome written.
        var results = await Task.WhenAll(sending.Select(r => SendOneAsync(run, campaign, version, r.Recipient)));
        var bounced = new List<(string Address, string? Reply)>();
        for (var i = 0; i < sending.Count; i++)
        {
            var (ready, result) = (sending[i], results[i]);
            var customerId = ready.Recipient.CustomerId;
            switch (result.Outcome)
            {
                case SendOutcome.Accepted:
                    outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Sent, ready.SentBecause, result.MessageId, result.Reply, Attempted: true));
                    tally.Sent++;
                    break;
                case SendOutcome.Transient:
                    var attempts = ready.Attempts + 1;
                    var retryAt = clock.GetUtcNow().UtcDateTime + Backoff[Math.Min(attempts - 1, Backoff.Length - 1)];
                    if (retryAt > run.ValidUntil)
                    {
                        outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Failed, $"gave up after {attempts} attempts", result.MessageId, result.Reply, Attempted: true));
                        tally.Failed++;
                    }
                    else
                    {
                        outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Pending, "temporary failure; retrying", result.MessageId, result.Reply, retryAt, Attempted: true));
                        tally.Retrying++;
                    }
                    break;
                case SendOutcome.Permanent:
                    var hardBounce = DeliveryStatusCodes.AddressGone(result.EnhancedStatus);
                    outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.Failed,
                        hardBounce ? "the address does not exist (hard bounce); it is now suppressed"
                            : result.ReplyCode is null ? result.Reply : "refused by the mail server", result.MessageId, result.Reply, Attempted: true));
                    if (hardBounce) bounced.Add((ready.Recipient.Email, result.Reply));
                    tally.Failed++;
                    break;
                default:
                    outcomes.Add(new DeliveryOutcome(customerId, DeliveryStatuses.InDoubt, "the connection was lost after the message was sent", result.MessageId, result.Reply, Attempted: true));
                    tally.InDoubt++;
                    break;
            }
        }
        if (campaign.Offer is not null)
        {
            // Messages that never reached the customer give their coupon back (an uploaded code returns to the pool).
            var unused = outcomes.Where(o => o.Status is DeliveryStatuses.Skipped or DeliveryStatuses.Failed).Select(o => o.CustomerId).ToList();
            await CouponIssuer.ReleaseAsync(db, CouponsIssuedFor(run.Id), unused, CancellationToken.None);
        }
        foreach (var (address, reply) in bounced)
            await suppressions.AddAsync(db, address, SuppressionReasons.HardBounce, $"campaign {campaign.Id}, run {run.Id}", reply, clock.GetUtcNow().UtcDateTime, CancellationToken.None);
        return outcomes;
    }

    public const string DeliveryHeader = "X-RC-Delivery";

    (long RunId, MessageFrame Frame)? frame;

    /// <summary>Sender, reply address and Feedback-ID are the run's, the same for every message: checked and encoded once.</summary>
    MessageFrame FrameFor(CampaignRun run, Campaign campaign)
    {
        if (frame is { } known && known.RunId == run.Id) return known.Frame;
        var made = new MessageFrame(
            EmailAddress.Parse(campaign.SenderEmail ?? shop.Value.SenderEmail, campaign.SenderName ?? shop.Value.Name),
            campaign.ReplyTo is null ? null : EmailAddress.Parse(campaign.ReplyTo),
            [new("Feedback-ID", $"{run.Id}:{campaign.Id}:rc")]);
        frame = (run.Id, made);
        return made;
    }

    async Task<SendResult> SendOneAsync(CampaignRun run, Campaign campaign, TemplateVersion version, Recipient recipient)
    {
        OutgoingMessage message;
        try
        {
            var model = recipient.Model;
            var rendered = engine.Render(version.Content[model.Customer.Locale], model, models.ClickTracker(recipient));
            if (LegalFooter.Missing(rendered, model) is { } missing) return new SendResult(SendOutcome.Permanent, "", null, null, missing);
            message = new OutgoingMessage
            {
                Frame = FrameFor(run, campaign),
                To = [EmailAddress.Parse(recipient.Email)],
                ReturnPath = returnPaths.For(run.Id, recipient.CustomerId),
                Subject = rendered.Subject,
                TextBody = rendered.Text,
                HtmlBody = rendered.Html,
                UnsubscribeUrl = model.Links.Unsubscribe,
                // One delivery, one header: servers and tests can count messages per (run, customer), and a feedback
                // report that quotes the message names its delivery.
                Headers = [new(DeliveryHeader, $"{run.Id}-{recipient.CustomerId}")],
            };
        }
        catch (Exception exception) when (exception is TemplateRenderException or FormatException)
        {
            // Nothing went on the wire: a permanent failure of this message, with the reason.
            return new SendResult(SendOutcome.Permanent, "", null, null, $"not sent: {exception.Message}");
        }
        try
        {
            return await transport.SendAsync(message, CancellationToken.None);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            log.LogError(exception, "Sending delivery {RunId}-{CustomerId} failed unexpectedly.", run.Id, recipient.CustomerId);
            return new SendResult(SendOutcome.InDoubt, "", null, null, exception.Message);
        }
    }

    /// <summary>At least 20 errors and more errors than successes: the server or the list is in trouble; stop and let a person look.</summary>
    static bool TooManyErrors(int sent, int errors) => errors >= 20 && errors > sent;

    async Task PauseForErrorsAsync(long campaignId, int sent, int errors, CancellationToken ct)
    {
        if (await schedules.PauseAsync(db, campaignId, $"{errors} delivery errors against {sent} sent; the mail server or the list may be in trouble. Resume once the cause is fixed.",
                clock.GetUtcNow().UtcDateTime, ct))
            log.LogWarning("Campaign {CampaignId} paused: {Errors} delivery errors against {Sent} sent in this job. Resume it once the cause is fixed.", campaignId, errors, sent);
    }

    /// <summary>Each customer's marketing emails sent (or possibly sent) within the longest window the policy looks at.</summary>
    async Task<Dictionary<long, List<RecentSend>>> RecentSendsAsync(IReadOnlyCollection<long> customerIds, CampaignPolicy policy, DateTime now, CancellationToken ct)
    {
        // 30 days at least: a customer's own "at most one a month" looks that far back.
        var since = now.AddDays(-Math.Max(Math.Max(policy.FrequencyWindowDays, policy.RepeatAfterDays), 30));
        string[] counted = [DeliveryStatuses.Sent, DeliveryStatuses.Sending, DeliveryStatuses.InDoubt];
        var rows = await (from d in db.Deliveries
                          join r in db.CampaignRuns on d.RunId equals r.Id
                          where customerIds.Contains(d.CustomerId) && counted.Contains(d.Status) && d.UpdatedAt > since
                          select new { d.CustomerId, r.CampaignId, d.UpdatedAt }).ToListAsync(ct);
        return rows.GroupBy(r => r.CustomerId).ToDictionary(g => g.Key, g => g.Select(r => new RecentSend(r.CampaignId, r.UpdatedAt)).ToList());
    }

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
        var changed = await db.Campaigns.Where(c => c.Id == campaign.Id && c.State == CampaignStates.Running)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.State, next).SetProperty(c => c.UpdatedAt, now), ct);
        if (changed == 1) await schedules.EnsureJobAsync(await db.Campaigns.AsNoTracking().FirstAsync(c => c.Id == campaign.Id, ct), ct);
        return true;
    }
}

/// <summary>
/// Sends one run's deliveries. Several may work on a run at once, on any node; a job whose node died is taken up
/// by another node once Hangfire's invisibility timeout passes. When retries are due later, it schedules itself for then.
/// </summary>
[AutomaticRetry(Attempts = 5, DelaysInSeconds = [5, 15, 60, 300, 900])]
public sealed class CampaignSendJob(CampaignSender sender, SendWindow window, IBackgroundJobClient jobs)
{
    /// <summary>The Hangfire queue of send jobs, taken only by each node's send workers (see <c>SchedulerHost</c>).</summary>
    public const string Queue = "send";

    [DisplayName("Run {0}: send"), Queue(Queue)]
    public async Task RunAsync(long runId, PerformContext? context, CancellationToken ct)
    {
        // A job is admitted at once on a send worker; the wait is for one run by another worker (see TryEnterJob).
        using var admission = await window.EnterJobAsync(CampaignSender.HandOff + TimeSpan.FromSeconds(1), ct);
        if (admission is null)
        {
            // This node is busy: back to the store, a little later, for any node.
            Schedule(jobs, runId, DateTime.UtcNow.AddSeconds(Random.Shared.Next(2, 7)));
            return;
        }
        // One lease per execution: a job Hangfire runs again after its node died must not pass for its dead self.
        var me = $"{context?.BackgroundJob.Id ?? "direct"}:{Guid.NewGuid():N}";
        var progress = await sender.SendAsync(runId, me, ct, () => Enqueue(jobs, runId));
        if (progress.NextAttemptAt is { } at && !ct.IsCancellationRequested) Schedule(jobs, runId, at);
    }

    public static void Enqueue(IBackgroundJobClient jobs, long runId) =>
        jobs.Enqueue<CampaignSendJob>(job => job.RunAsync(runId, null, CancellationToken.None));

    public static void Schedule(IBackgroundJobClient jobs, long runId, DateTime at) =>
        jobs.Schedule<CampaignSendJob>(job => job.RunAsync(runId, null, CancellationToken.None), new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)));
}
