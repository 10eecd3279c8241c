using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Hangfire;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Referrals;

public sealed record RewardRun(int Ordered, int Rewarded, int Flagged, int Rejected, int NoticesSent, int WaitingForCodes, int NoticesDeferred = 0);

/// <summary>
/// Moves referrals towards their rewards. A signed-up friend's first order of at least the program's minimum (net
/// of refunds) starts the review period. When it is over, the referral is rejected if the order was returned below
/// the minimum or paid with a payment method the referrer uses (self-referral); it is held for review if the order
/// was paid like another friend's of the same referrer, or the referrer has <c>MaxRewardsPerReferrer</c> rewards
/// within the period (unless a reviewer released it); otherwise both coupons are issued (once per referral and side,
/// however often this runs) and the referral is marked rewarded by a conditional update. Then the referrer, and only
/// the referrer, gets the reward notice if their consent allows: each due notice is claimed by a conditional update
/// before it is sent, so it goes out at most once; a server that says "try later" gets it again on the next runs, up
/// to <see cref="NoticeAttempts"/> times. The friend is never emailed: the shop shows their coupon (API) as it sees fit.
/// </summary>
public sealed class ReferralRewards(RetentionDb db, TemplateEngine engine, TemplateModelBuilder models, IMailTransport transport,
    SuppressionList suppressions, IOptions<ShopOptions> shop, TimeProvider clock, ILogger<ReferralRewards> log)
{
    public const string NoticeTemplate = "referral-reward";
    /// <summary>At the job's 5 minutes, an hour of "try later" before the notice is given up.</summary>
    public const int NoticeAttempts = 12;

    public static string IssuedFor(long referralId) => $"referral:{referralId}";

    public async Task<RewardRun> RunAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var programs = await db.ReferralPrograms.AsNoTracking().ToDictionaryAsync(p => p.Id, ct);
        int ordered = 0, rewarded = 0, flagged = 0, rejected = 0, notices = 0, waiting = 0, deferred = 0;

        foreach (var referral in await db.Referrals.Where(r => r.Status == ReferralStatuses.SignedUp).ToListAsync(ct))
        {
            var program = programs[referral.ProgramId];
            var first = await db.Orders.AsNoTracking()
                .Where(o => o.CustomerId == referral.FriendId && o.AmountMinor - o.RefundedMinor >= program.QualifyingMinimumMinor)
                .OrderBy(o => o.OrderedAt).FirstOrDefaultAsync(ct);
            if (first is null) continue;
            (referral.Status, referral.FirstOrderId, referral.FirstOrderAt, referral.FirstOrderMinor) = (ReferralStatuses.Ordered, first.Id, first.OrderedAt, first.AmountMinor);
            referral.RewardDueAt = first.OrderedAt.AddDays(program.ReviewDays);
            referral.UpdatedAt = now;
            ordered++;
        }
        await db.SaveChangesAsync(ct);

        var due = await db.Referrals.AsNoTracking().Where(r => r.Status == ReferralStatuses.Ordered && r.RewardDueAt <= now).OrderBy(r => r.Id).ToListAsync(ct);
        foreach (var referral in due)
        {
            var program = programs[referral.ProgramId];
            var net = await db.Orders.Where(o => o.Id == referral.FirstOrderId).Select(o => (long?)(o.AmountMinor - o.RefundedMinor)).FirstOrDefaultAsync(ct);
            if (net is null || net < program.QualifyingMinimumMinor)
            {
                rejected += await SetAsync(referral.Id, ReferralStatuses.Rejected, "the first order was returned or cancelled below the minimum", now, ct);
                continue;
            }
            if (await SharedPayments.WithReferrerAsync(db, db.Orders.Where(o => o.Id == referral.FirstOrderId), referral.ReferrerId, ct))
            {
                rejected += await SetAsync(referral.Id, ReferralStatuses.Rejected, "self-referral: the first order was paid with a payment method the referrer uses", now, ct);
                continue;
            }
            if (referral.ApprovedAt is null && await SharedPayments.OtherFriendAsync(db, referral, ct) is { } otherFriend)
            {
                flagged += await SetAsync(referral.Id, ReferralStatuses.Flagged, $"the first order was paid like the first order of {otherFriend}, another friend of the same referrer", now, ct);
                continue;
            }
            var since = now.AddDays(-program.RewardPeriodDays);
            var referrerTakesPart = await ReferralEligibility.TakesPartAsync(db, referral.ReferrerId, ct);
            var earned = await db.Referrals.CountAsync(r => r.ReferrerId == referral.ReferrerId && r.Status == ReferralStatuses.Rewarded
                                                            && r.ReferrerCoupon != null && r.RewardedAt > since, ct);
            if (referrerTakesPart && earned >= program.MaxRewardsPerReferrer && referral.ApprovedAt is null)
            {
                flagged += await SetAsync(referral.Id, ReferralStatuses.Flagged,
                    $"the referrer has {earned} rewards within {program.RewardPeriodDays} days (MaxRewardsPerReferrer {program.MaxRewardsPerReferrer})", now, ct);
                continue;
            }

            var issuedFor = IssuedFor(referral.Id);
            var referrerCoupon = referrerTakesPart
                ? (await CouponIssuer.IssueAsync(db, ReferralProgramsApi.Pool(program.Id, "referrer"), program.ReferrerReward.Terms(), issuedFor,
                    [referral.ReferrerId], now, ct)).GetValueOrDefault(referral.ReferrerId)
                : null;
            var friendCoupon = (await CouponIssuer.IssueAsync(db, ReferralProgramsApi.Pool(program.Id, "friend"), program.FriendOffer.Terms(), issuedFor,
                [referral.FriendId], now, ct)).GetValueOrDefault(referral.FriendId);
            if ((referrerTakesPart && referrerCoupon is null) || friendCoupon is null)
            {
                log.LogWarning("Referral {Id} waits for coupon codes: the program's pool is empty.", referral.Id);
                waiting++;
                continue;
            }
            // A referrer who left the program gets neither reward nor notice; the friend still gets the offer.
            var (reason, notice) = referrerTakesPart ? (referral.Reason, (string?)null)
                : ("the referrer left the referral program: no referrer reward", "skipped: the referrer left the referral program");
            var referrerCode = referrerCoupon?.Code;
            var marked = await db.Referrals.Where(r => r.Id == referral.Id && r.Status == ReferralStatuses.Ordered)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, ReferralStatuses.Rewarded).SetProperty(r => r.RewardedAt, now)
                    .SetProperty(r => r.ReferrerCoupon, referrerCode).SetProperty(r => r.FriendCoupon, friendCoupon.Code)
                    .SetProperty(r => r.Reason, reason).SetProperty(r => r.Notice, notice).SetProperty(r => r.UpdatedAt, now), ct);
            if (marked > 0) rewarded++; // else another run rewarded it a moment ago
        }

        var noticesDue = await db.Referrals.AsNoTracking().Where(r => r.Status == ReferralStatuses.Rewarded && r.Notice == null).OrderBy(r => r.Id).ToListAsync(ct);
        foreach (var referral in noticesDue)
        {
            var claimed = await db.Referrals.Where(r => r.Id == referral.Id && r.Notice == null)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.Notice, "sending").SetProperty(r => r.NoticeAttempts, r => r.NoticeAttempts + 1), ct);
            if (claimed == 0) continue;
            string? notice;
            try { notice = await SendNoticeAsync(referral, ct); }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                log.LogWarning(exception, "The reward notice of referral {Id} could not be sent; the next run tries again.", referral.Id);
                notice = null;
            }
            if (notice is null && referral.NoticeAttempts + 1 >= NoticeAttempts) notice = $"failed: the server said to try later {NoticeAttempts} times";
            await db.Referrals.Where(r => r.Id == referral.Id).ExecuteUpdateAsync(u => u.SetProperty(r => r.Notice, notice), ct);
            if (notice == "sent") notices++;
            else if (notice is null) deferred++;
        }
        return new RewardRun(ordered, rewarded, flagged, rejected, notices, waiting, deferred);
    }

    async Task<int> SetAsync(long id, string status, string reason, DateTime now, CancellationToken ct) =>
        await db.Referrals.Where(r => r.Id == id && r.Status == ReferralStatuses.Ordered)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, status).SetProperty(r => r.Reason, reason).SetProperty(r => r.UpdatedAt, now), ct);

    /// <summary>
    /// The reward notice, under the same rules as marketing email: consent, suppression, erasure. Returns what
    /// became of it, or null when the server said to try later.
    /// </summary>
    async Task<string?> SendNoticeAsync(Referral referral, CancellationToken ct)
    {
        var referrerId = referral.ReferrerId;
        var coupon = await db.Coupons.AsNoTracking().FirstAsync(c => c.Code == referral.ReferrerCoupon, ct);
        var consent = await ConsentApi.CurrentStateAsync(db, referrerId, ct);
        var referrer = await db.Customers.AsNoTracking().FirstAsync(c => c.Id == referrerId, ct);
        var why = consent["email_marketing"] is not { Status: "granted", Objection: false } ? "no marketing consent"
            : referrer.ErasedAt is not null ? "erased"
            : await suppressions.ContainsAsync(db, referrer.Email, ct) ? "suppressed"
            : null;
        if (why is not null)
        {
            log.LogInformation("No reward notice to customer {Id}: {Why}; the coupon {Code} stands.", referrerId, why, coupon.Code);
            return $"skipped: {why}";
        }
        var version = await TemplateVersion.UsableAsync(db, NoticeTemplate, ct);
        var recipient = (await models.BuildAsync([referrerId], version.Content.Keys, null, null, OfferView.For(coupon, shop.Value.Currency), ct,
            new Dictionary<long, IReadOnlyDictionary<string, ConsentState>> { [referrerId] = consent }))[referrerId];
        var rendered = engine.Render(version.Content[recipient.Model.Customer.Locale], recipient.Model, models.ClickTracker(recipient));
        if (LegalFooter.Missing(rendered, recipient.Model) is { } missing)
        {
            log.LogError("The reward notice to customer {Id} was {Missing}.", referrerId, missing);
            return $"failed: {missing}";
        }
        var result = await transport.SendAsync(new OutgoingMessage
        {
            Frame = new MessageFrame(EmailAddress.Parse(shop.Value.SenderEmail, shop.Value.Name)),
            To = [EmailAddress.Parse(referrer.Email)],
            Subject = rendered.Subject,
            TextBody = rendered.Text,
            HtmlBody = rendered.Html,
            Date = clock.GetUtcNow(),
            UnsubscribeUrl = recipient.Model.Links.Unsubscribe,
            Headers = [new("X-RC-Template", $"{NoticeTemplate} v{version.Version} {recipient.Model.Customer.Locale}")],
        }, ct);
        if (result.Outcome != SendOutcome.Accepted)
            log.LogWarning("The reward notice to customer {Id} was not accepted ({Outcome}): {Reply}", referrerId, result.Outcome, result.Reply);
        return result.Outcome switch
        {
            SendOutcome.Accepted => "sent",
            SendOutcome.Transient => null,
            SendOutcome.InDoubt => $"in doubt: {result.Reply ?? "the connection was lost after the message"}",
            _ => $"failed: {result.Reply}",
        };
    }
}

/// <summary>Runs the reward steps every few minutes; running it twice (the scheduler may) issues nothing twice.</summary>
[AutomaticRetry(Attempts = 0)] // the next run comes within minutes
public sealed class ReferralRewardJob(ReferralRewards rewards, ILogger<ReferralRewardJob> log)
{
    [System.ComponentModel.DisplayName("Referral rewards")]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var run = await rewards.RunAsync(cancellationToken);
        if (run != new RewardRun(0, 0, 0, 0, 0, 0, 0)) log.LogInformation("Referral rewards: {Run}", run);
    }
}
