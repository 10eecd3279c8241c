using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Orders;

namespace RetentionCampaigns.Referrals;

/// <summary>What a referred friend is offered and what the referrer earns (migration 0015); one program is active.</summary>
public sealed class ReferralProgram
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public bool Active { get; set; }
    /// <summary>Shown on the landing page; issued to the friend with the referrer's reward.</summary>
    public required CampaignOffer FriendOffer { get; set; }
    public required CampaignOffer ReferrerReward { get; set; }
    /// <summary>The friend's first order counts from this amount, net of refunds.</summary>
    public long QualifyingMinimumMinor { get; set; }
    /// <summary>Days after the first order before rewards are issued (returns).</summary>
    public int ReviewDays { get; set; } = 14;
    public int MaxRewardsPerReferrer { get; set; } = 5;
    public int RewardPeriodDays { get; set; } = 365;
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class ReferralCode
{
    public required string Code { get; set; }
    public long CustomerId { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class ReferralVisit
{
    public long Id { get; set; }
    public required string Code { get; set; }
    public long? CampaignId { get; set; }
    public DateTime VisitedAt { get; set; }
}

/// <summary>A friend brought by a referrer, from sign-up to reward.</summary>
public sealed class Referral
{
    public long Id { get; set; }
    public long ProgramId { get; set; }
    public required string Code { get; set; }
    public long ReferrerId { get; set; }
    public long FriendId { get; set; }
    public long? CampaignId { get; set; }
    public required string Status { get; set; }
    /// <summary>Why a referral is flagged or rejected.</summary>
    public string? Reason { get; set; }
    public string? IpAddress { get; set; }
    public DateTime SignedUpAt { get; set; }
    public long? FirstOrderId { get; set; }
    public DateTime? FirstOrderAt { get; set; }
    public long? FirstOrderMinor { get; set; }
    public DateTime? RewardDueAt { get; set; }
    public DateTime? RewardedAt { get; set; }
    /// <summary>Set when a reviewer releases a flagged referral; the reward cap no longer holds it (migration 0016).</summary>
    public DateTime? ApprovedAt { get; set; }
    public string? ReferrerCoupon { get; set; }
    public string? FriendCoupon { get; set; }
    /// <summary>The referrer's reward notice: null while due, then sending, sent, or "skipped|failed|in doubt: why".</summary>
    public string? Notice { get; set; }
    public int NoticeAttempts { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class ReferralStatuses
{
    public const string SignedUp = "signed_up", Ordered = "ordered", Rewarded = "rewarded", Flagged = "flagged", Rejected = "rejected";
    public static readonly string[] All = [SignedUp, Ordered, Rewarded, Flagged, Rejected];
}

/// <summary>
/// Who takes part: every customer who is not erased and has not withdrawn the <c>referral_program</c> consent
/// purpose (preference centre or API). One who left gets no link, their code leads nowhere, new friends are not
/// attributed to them, and a pending referral brings them no reward (the friend still gets the offer).
/// </summary>
public static class ReferralEligibility
{
    public const string Purpose = "referral_program";

    public static bool TakesPart(IReadOnlyDictionary<string, ConsentState> consent, bool erased) =>
        !erased && consent[Purpose].Status != "withdrawn";

    public static async Task<bool> TakesPartAsync(RetentionDb db, long customerId, CancellationToken ct) =>
        await db.Customers.AnyAsync(c => c.Id == customerId && c.ErasedAt == null, ct)
        && TakesPart(await ConsentApi.CurrentStateAsync(db, customerId, ct), erased: false);
}

/// <summary>Payment fingerprints (when the shop gives them with orders) as a fraud signal.</summary>
public static class SharedPayments
{
    /// <summary>Whether any of these orders of the friend was paid with a payment method the referrer has used.</summary>
    public static Task<bool> WithReferrerAsync(RetentionDb db, IQueryable<Order> friendOrders, long referrerId, CancellationToken ct) =>
        friendOrders.AnyAsync(f => f.PaymentFingerprint != null
                                   && db.Orders.Any(o => o.CustomerId == referrerId && o.PaymentFingerprint == f.PaymentFingerprint), ct);

    /// <summary>Another friend of the same referrer whose first order was paid the same way as this one's, if any.</summary>
    public static Task<string?> OtherFriendAsync(RetentionDb db, Referral referral, CancellationToken ct) =>
        (from mine in db.Orders
         where mine.Id == referral.FirstOrderId && mine.PaymentFingerprint != null
         from other in db.Referrals
         where other.ReferrerId == referral.ReferrerId && other.Id != referral.Id && other.Status != ReferralStatuses.Rejected
         from theirs in db.Orders
         where theirs.Id == other.FirstOrderId && theirs.PaymentFingerprint == mine.PaymentFingerprint
         from friend in db.Customers
         where friend.Id == other.FriendId
         select friend.ExternalId).FirstOrDefaultAsync(ct);
}

/// <summary>Section <c>Referrals</c>.</summary>
public sealed class ReferralOptions
{
    /// <summary>More referred sign-ups than this from one IP address within an hour are held for review.</summary>
    public int SignupsPerAddressPerHour { get; set; } = 3;
    /// <summary>How long the landing page's cookie remembers the code.</summary>
    public int CookieDays { get; set; } = 30;
}

/// <summary>
/// Referral codes: one per customer, made the first time one is needed. 16 characters of Crockford's base 32 are
/// 80 random bits, short enough to read aloud and safe in a URL.
/// </summary>
public static class ReferralCodes
{
    const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    public const int Length = 16;

    public static string NewCode() => RandomNumberGenerator.GetString(Alphabet, Length);

    /// <summary>Whether the text could be a code at all (checked before any query).</summary>
    public static bool IsWellFormed(string text) => text.Length == Length && text.All(c => Alphabet.Contains(c));

    /// <summary>The customers' codes, creating the missing ones (concurrent creators agree on one per customer).</summary>
    public static async Task<Dictionary<long, string>> EnsureAsync(RetentionDb db, IReadOnlyCollection<long> customerIds, DateTime now, CancellationToken ct)
    {
        var codes = await db.ReferralCodes.AsNoTracking().Where(c => customerIds.Contains(c.CustomerId)).ToDictionaryAsync(c => c.CustomerId, c => c.Code, ct);
        var missing = customerIds.Where(id => !codes.ContainsKey(id)).Distinct().ToList();
        if (missing.Count == 0) return codes;
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            foreach (var id in missing)
                await db.Database.GetDbConnection().ExecuteAsync(
                    "INSERT INTO referral_codes (code, customer_id, created_at) SELECT @code, id, @now FROM customers WHERE id = @customer ON CONFLICT DO NOTHING",
                    db.Database.CurrentTransaction?.GetDbTransaction(), [("@code", NewCode()), ("@customer", id), ("@now", now)], ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        foreach (var code in await db.ReferralCodes.AsNoTracking().Where(c => missing.Contains(c.CustomerId)).ToListAsync(ct))
            codes[code.CustomerId] = code.Code;
        return codes;
    }
}
