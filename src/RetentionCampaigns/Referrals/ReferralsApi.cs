using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Suppressions;

namespace RetentionCampaigns.Referrals;

/// <summary>The shop reports a referred sign-up or first order: the code (the <c>rc_ref</c> cookie's value) and the friend.</summary>
public sealed record AttributionInput(string? Code, string? CustomerId, string? IpAddress, DateTimeOffset? OccurredAt);
public sealed record ReviewInput(string? Reason);

public sealed record ReferralOrder(long Id, string ExternalId, DateTime OrderedAt, decimal Amount);
public sealed record ReferralItem(long Id, long ProgramId, string Code, string ReferrerId, string FriendId, long? CampaignId, string Status,
    string? Reason, DateTime SignedUpAt, ReferralOrder? FirstOrder, DateTime? RewardDueAt, DateTime? ApprovedAt, DateTime? RewardedAt, string? ReferrerCoupon,
    string? FriendCoupon, string? Notice);
public sealed record ReferralPage(List<ReferralItem> Items, long? Next);
public sealed record ReferralFigures(int Visits, int SignUps, int FirstOrders, decimal Revenue, int Rewards);
public sealed record ReferrerFigures(string ReferrerId, ReferralFigures Figures);
public sealed record CampaignFigures(long? CampaignId, string? CampaignName, ReferralFigures Figures);
public sealed record ReferralReport(DateTime From, DateTime To, ReferralFigures Overall, List<ReferrerFigures> ByReferrer, List<CampaignFigures> ByCampaign);

/// <summary>
/// Attribution and review. A referral links a new customer to the referrer whose code they came with. Refused
/// outright (422): unknown codes, referrers who left the program, self-referral (the same customer, the same address,
/// the same mailbox written differently, or an order paid with the referrer's payment method), friends who ordered
/// before. Held for review (flagged): a burst of referred sign-ups from one IP address. Each friend is referred once.
/// </summary>
public static class ReferralsApi
{
    const int PageSize = 100;

    public static RouteGroupBuilder MapReferrals(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/referrals").WithTags("Referrals");
        group.MapPost("/", Attribute).WithSummary("Report a referred sign-up or first order: the code from the rc_ref cookie and the friend's customer id.");
        group.MapGet("/", List).WithSummary("Referrals, newest first, 100 at a time; status=flagged lists those held for review.");
        group.MapGet("/report", Report).WithSummary("Visits, sign-ups, first orders, revenue and rewards per referrer, per campaign and overall (from, to: default the last 365 days).");
        group.MapGet("/{id:long}", Get).WithSummary("One referral with its first order and rewards.");
        group.MapPost("/{id:long}/approve", Approve).WithSummary("Release a flagged referral: it goes on towards its reward.");
        group.MapPost("/{id:long}/reject", Reject).WithSummary("Reject a referral that has not been rewarded; no reward will be issued.");
        return group;
    }

    static async Task<Results<Created<ReferralItem>, Ok<ReferralItem>, ValidationProblem, ProblemHttpResult>> Attribute(AttributionInput input,
        RetentionDb db, IOptions<ReferralOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var cookie = errors.Required("code", input.Code, 60);
        var friendExternalId = errors.Required("customerId", input.CustomerId, 100);
        var ip = errors.Optional("ipAddress", input.IpAddress, 45);
        if (ip is not null && !IPAddress.TryParse(ip, out _)) errors.Add("ipAddress", "is not an IPv4 or IPv6 address.");
        var (code, campaignId) = ParseCookie(cookie);
        if (cookie is not null && code is null) errors.Add("code", "is not a referral code (16 characters, as in the rc_ref cookie).");
        if (errors.Any) return errors.ToProblem();

        var now = clock.GetUtcNow().UtcDateTime;
        var signedUpAt = input.OccurredAt?.UtcDateTime ?? now;
        var referrer = await (from c in db.ReferralCodes join x in db.Customers on c.CustomerId equals x.Id
                              where c.Code == code && x.ErasedAt == null select x).AsNoTracking().FirstOrDefaultAsync(ct);
        if (referrer is null) return Refused("code", "no customer has this referral code.");
        if (!await ReferralEligibility.TakesPartAsync(db, referrer.Id, ct)) return Refused("code", "the referrer has left the referral program.");
        var program = await db.ReferralPrograms.AsNoTracking().FirstOrDefaultAsync(p => p.Active, ct);
        if (program is null) return Refused("code", "no referral program is active.");
        var friend = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.ExternalId == friendExternalId && c.ErasedAt == null, ct);
        if (friend is null) return Refused("customerId", $"no customer has the id '{friendExternalId}'; create the customer first.");

        var existing = await db.Referrals.AsNoTracking().FirstOrDefaultAsync(r => r.FriendId == friend.Id, ct);
        if (existing is not null)
            return existing.Code == code ? TypedResults.Ok(await AsItemAsync(db, existing, ct))
                : Problems.Conflict("customerId", "this customer was referred by someone else already; a friend counts once.");
        if (friend.Id == referrer.Id) return Refused("customerId", "self-referral: the friend is the referrer.");
        if (SameMailbox(friend.Email, referrer.Email)) return Refused("customerId", "self-referral: the friend's address is the referrer's.");
        if (!await IsNewAsync(db, friend.Id, signedUpAt, ct)) return Refused("customerId", "the friend ordered before; only new customers count.");
        if (await SharedPayments.WithReferrerAsync(db, db.Orders.Where(o => o.CustomerId == friend.Id), referrer.Id, ct))
            return Refused("customerId", "self-referral: the friend paid with a payment method the referrer uses.");

        var referral = new Referral
        {
            ProgramId = program.Id, Code = code!, ReferrerId = referrer.Id, FriendId = friend.Id,
            CampaignId = campaignId is { } id && await db.Campaigns.AnyAsync(c => c.Id == id, ct) ? campaignId : null,
            Status = ReferralStatuses.SignedUp, IpAddress = ip, SignedUpAt = signedUpAt, CreatedAt = now, UpdatedAt = now,
        };
        if (ip is not null)
        {
            var limit = Math.Max(1, options.Value.SignupsPerAddressPerHour);
            var recent = await db.Referrals.CountAsync(r => r.IpAddress == ip && r.CreatedAt > now.AddHours(-1), ct);
            if (recent >= limit)
                (referral.Status, referral.Reason) = (ReferralStatuses.Flagged, $"burst: {recent + 1} referred sign-ups from {ip} within an hour (limit {limit})");
        }
        db.Referrals.Add(referral);
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            return Problems.Conflict("customerId", "this customer was referred at the same moment by another request.");
        }
        return TypedResults.Created($"/api/referrals/{referral.Id}", await AsItemAsync(db, referral, ct));
    }

    /// <summary>
    /// New means no order before coming through the link. The shop reports at sign-up (no order yet) or with the
    /// first order: then its one order may be up to a day older than the report.
    /// </summary>
    static async Task<bool> IsNewAsync(RetentionDb db, long friendId, DateTime reportedAt, CancellationToken ct)
    {
        var orders = await db.Orders.Where(o => o.CustomerId == friendId).OrderBy(o => o.OrderedAt).Select(o => o.OrderedAt).Take(2).ToListAsync(ct);
        return orders.Count == 0 || (orders.Count == 1 && orders[0] >= reportedAt.AddDays(-1));
    }

    /// <summary>The cookie holds the code, and after a dot the campaign that carried the link.</summary>
    static (string? Code, long? CampaignId) ParseCookie(string? value)
    {
        if (value is null) return (null, null);
        var parts = value.Trim().ToUpperInvariant().Split('.', 2);
        if (!ReferralCodes.IsWellFormed(parts[0])) return (null, null);
        return (parts[0], parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null);
    }

    /// <summary>
    /// One mailbox, however written: case, a "+tag" after the local part, and for Gmail the dots in it and the
    /// googlemail.com domain do not matter.
    /// </summary>
    public static bool SameMailbox(string a, string b) => a.Length > 0 && b.Length > 0 && Mailbox(a) == Mailbox(b);

    static string Mailbox(string address)
    {
        var normalized = SuppressionList.Normalize(address);
        var at = normalized.LastIndexOf('@');
        if (at <= 0) return normalized;
        var (local, domain) = (normalized[..at], normalized[(at + 1)..]);
        var plus = local.IndexOf('+');
        if (plus > 0) local = local[..plus];
        if (domain is "gmail.com" or "googlemail.com") (local, domain) = (local.Replace(".", ""), "gmail.com");
        return $"{local}@{domain}";
    }

    static async Task<Results<Ok<ReferralPage>, ValidationProblem>> List(string? status, long? before, RetentionDb db, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (status is not null && !ReferralStatuses.All.Contains(status)) errors.Add("status", $"must be one of: {string.Join(", ", ReferralStatuses.All)}.");
        if (errors.Any) return errors.ToProblem();
        var query = db.Referrals.AsNoTracking();
        if (status is not null) query = query.Where(r => r.Status == status);
        if (before is { } b) query = query.Where(r => r.Id < b);
        var rows = await query.OrderByDescending(r => r.Id).Take(PageSize + 1).ToListAsync(ct);
        var items = await AsItemsAsync(db, rows.Take(PageSize).ToList(), ct);
        return TypedResults.Ok(new ReferralPage(items, rows.Count > PageSize ? items[^1].Id : null));
    }

    static async Task<Results<Ok<ReferralItem>, ProblemHttpResult>> Get(long id, RetentionDb db, CancellationToken ct) =>
        await db.Referrals.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, ct) is { } referral ? TypedResults.Ok(await AsItemAsync(db, referral, ct)) : NotFound(id);

    static async Task<Results<Ok<ReferralItem>, ProblemHttpResult>> Approve(long id, ReviewInput? input, HttpContext http, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var referral = await db.Referrals.FirstOrDefaultAsync(r => r.Id == id, ct);
        if (referral is null) return NotFound(id);
        if (referral.Status != ReferralStatuses.Flagged)
            return Problems.Conflict("status", $"only a flagged referral can be approved; this one is {referral.Status}.");
        // Back to where it stood: waiting for the first order, or for the review period of the order it has.
        referral.Status = referral.FirstOrderId is null ? ReferralStatuses.SignedUp : ReferralStatuses.Ordered;
        referral.Reason = $"approved by api key {http.User.Identity?.Name} ({referral.Reason}){(input?.Reason is { Length: > 0 } why ? ": " + why : "")}";
        referral.ApprovedAt = referral.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(await AsItemAsync(db, referral, ct));
    }

    static async Task<Results<Ok<ReferralItem>, ProblemHttpResult>> Reject(long id, ReviewInput? input, HttpContext http, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var referral = await db.Referrals.FirstOrDefaultAsync(r => r.Id == id, ct);
        if (referral is null) return NotFound(id);
        if (referral.Status is ReferralStatuses.Rewarded or ReferralStatuses.Rejected)
            return Problems.Conflict("status", $"this referral is {referral.Status} already.");
        var now = clock.GetUtcNow().UtcDateTime;
        var rejected = await db.Referrals.Where(r => r.Id == id && r.Status == referral.Status)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.Status, ReferralStatuses.Rejected)
                .SetProperty(r => r.Reason, $"rejected by api key {http.User.Identity?.Name}{(input?.Reason is { Length: > 0 } why ? ": " + why : "")}")
                .SetProperty(r => r.UpdatedAt, now), ct);
        if (rejected == 0) return Problems.Conflict("status", "the referral changed meanwhile (it may have been rewarded); look at it again.");
        return TypedResults.Ok(await AsItemAsync(db, (await db.Referrals.AsNoTracking().FirstAsync(r => r.Id == id, ct)), ct));
    }

    /// <summary>
    /// Within [from, to): landing page visits, referred sign-ups (not rejected), first qualifying orders, the
    /// referred friends' revenue (their orders net of refunds, from their sign-up on) and rewards issued. Sign-ups,
    /// orders and rewards count for the campaign whose link the friend followed; visits for the campaign in the link.
    /// </summary>
    static async Task<Results<Ok<ReferralReport>, ValidationProblem>> Report(DateTimeOffset? from, DateTimeOffset? to, RetentionDb db, TimeProvider clock,
        CancellationToken ct)
    {
        var end = to?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime;
        var start = from?.UtcDateTime ?? end.AddDays(-365);
        if (start >= end)
        {
            var errors = new ValidationErrors();
            errors.Add("from", "must be before to.");
            return errors.ToProblem();
        }
        var visits = await (from v in db.ReferralVisits join c in db.ReferralCodes on v.Code equals c.Code
                            where v.VisitedAt >= start && v.VisitedAt < end
                            group v by new { c.CustomerId, v.CampaignId } into g
                            select new { g.Key.CustomerId, g.Key.CampaignId, Count = g.Count() }).ToListAsync(ct);
        var referrals = await db.Referrals.AsNoTracking().Where(r => r.Status != ReferralStatuses.Rejected).ToListAsync(ct);
        var friends = referrals.Select(r => r.FriendId).ToList();
        var orders = new List<(long CustomerId, DateTime OrderedAt, long Net)>();
        foreach (var chunk in friends.Chunk(1000))
            orders.AddRange((await db.Orders.Where(o => chunk.Contains(o.CustomerId) && o.OrderedAt >= start && o.OrderedAt < end)
                .Select(o => new { o.CustomerId, o.OrderedAt, Net = o.AmountMinor - o.RefundedMinor }).ToListAsync(ct)).Select(o => (o.CustomerId, o.OrderedAt, o.Net)));
        var ordersByFriend = orders.ToLookup(o => o.CustomerId);
        var revenueByFriend = referrals.ToDictionary(r => r.FriendId, r => ordersByFriend[r.FriendId].Where(o => o.OrderedAt >= r.SignedUpAt.AddDays(-1)).Sum(o => o.Net));

        // Grouped once, so each referrer's and campaign's figures read only their own rows.
        var visitsByReferrer = visits.ToLookup(v => v.CustomerId, v => v.Count);
        var visitsByCampaign = visits.ToLookup(v => v.CampaignId, v => v.Count);
        var referralsByReferrer = referrals.ToLookup(r => r.ReferrerId);
        var referralsByCampaign = referrals.ToLookup(r => r.CampaignId);

        ReferralFigures Figures(IEnumerable<int> visitCounts, IEnumerable<Referral> mine) => new(
            visitCounts.Sum(),
            mine.Count(r => r.SignedUpAt >= start && r.SignedUpAt < end),
            mine.Count(r => r.FirstOrderAt >= start && r.FirstOrderAt < end),
            FieldRules.FromMinorUnits(mine.Sum(r => revenueByFriend[r.FriendId])),
            mine.Count(r => r.RewardedAt >= start && r.RewardedAt < end));

        var referrerIds = visits.Select(v => v.CustomerId).Concat(referrals.Select(r => r.ReferrerId)).Distinct().ToList();
        var names = new Dictionary<long, string>();
        foreach (var chunk in referrerIds.Chunk(1000))
            foreach (var c in await db.Customers.Where(c => chunk.Contains(c.Id)).Select(c => new { c.Id, c.ExternalId }).ToListAsync(ct)) names[c.Id] = c.ExternalId;
        var campaignIds = visits.Select(v => v.CampaignId).Concat(referrals.Select(r => r.CampaignId)).Distinct().ToList();
        var campaignNames = await db.Campaigns.Where(c => campaignIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id, c => c.Name, ct);

        var byReferrer = referrerIds.Select(id => new ReferrerFigures(names.GetValueOrDefault(id, ""), Figures(visitsByReferrer[id], referralsByReferrer[id])))
            .OrderByDescending(f => f.Figures.SignUps).ThenByDescending(f => f.Figures.Visits).ThenBy(f => f.ReferrerId, StringComparer.Ordinal).Take(PageSize).ToList();
        var byCampaign = campaignIds.Select(id => new CampaignFigures(id, id is { } c ? campaignNames.GetValueOrDefault(c) : null,
                Figures(visitsByCampaign[id], referralsByCampaign[id])))
            .OrderBy(f => f.CampaignId ?? long.MaxValue).ToList();
        return TypedResults.Ok(new ReferralReport(start, end, Figures(visits.Select(v => v.Count), referrals), byReferrer, byCampaign));
    }

    static async Task<ReferralItem> AsItemAsync(RetentionDb db, Referral r, CancellationToken ct) => (await AsItemsAsync(db, [r], ct))[0];

    /// <summary>The referrals with their customers' ids and first orders, read in two queries for the whole page.</summary>
    static async Task<List<ReferralItem>> AsItemsAsync(RetentionDb db, IReadOnlyList<Referral> referrals, CancellationToken ct)
    {
        var customerIds = referrals.SelectMany(r => new[] { r.ReferrerId, r.FriendId }).Distinct().ToList();
        var ids = await db.Customers.Where(c => customerIds.Contains(c.Id)).Select(c => new { c.Id, c.ExternalId }).ToDictionaryAsync(c => c.Id, c => c.ExternalId, ct);
        var orderIds = referrals.Where(r => r.FirstOrderId != null).Select(r => r.FirstOrderId!.Value).ToList();
        var orders = await db.Orders.Where(o => orderIds.Contains(o.Id))
            .Select(o => new ReferralOrder(o.Id, o.ExternalId, o.OrderedAt, FieldRules.FromMinorUnits(o.AmountMinor - o.RefundedMinor)))
            .ToDictionaryAsync(o => o.Id, ct);
        return referrals.Select(r => new ReferralItem(r.Id, r.ProgramId, r.Code, ids.GetValueOrDefault(r.ReferrerId, ""), ids.GetValueOrDefault(r.FriendId, ""),
            r.CampaignId, r.Status, r.Reason, r.SignedUpAt, r.FirstOrderId is { } orderId ? orders.GetValueOrDefault(orderId) : null, r.RewardDueAt,
            r.ApprovedAt, r.RewardedAt, r.ReferrerCoupon, r.FriendCoupon, r.Notice)).ToList();
    }

    static ProblemHttpResult Refused(string field, string message) => Problems.OneField(422, "The referral does not count.", field, message);

    static ProblemHttpResult NotFound(long id) => TypedResults.Problem(title: "Referral not found.", detail: $"No referral has the id {id}.", statusCode: 404);
}
