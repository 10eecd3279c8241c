using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Surveys;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Privacy;

public static class AuditActions
{
    public const string Export = "export", Erasure = "erasure";
}

/// <summary>One line of the audit log (migration 0013): who exported or erased whose data, and when.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTime OccurredAt { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public long CustomerId { get; set; }
    public required string Subject { get; set; }
    public string? Detail { get; set; }
}

public sealed record AuditPage(List<AuditEntry> Items, long? Next);

/// <summary>
/// The data subject's rights: an export of everything stored about one customer (Art. 15 and 20) and erasure
/// (Art. 17), each written to the audit log with the API key that asked.
/// </summary>
public static class PrivacyApi
{
    const int PageSize = 100;

    public static RouteGroupBuilder MapPrivacy(this RouteGroupBuilder api)
    {
        api.MapGet("/customers/{externalId}/export", Export).WithTags("Privacy")
            .WithSummary("Everything stored about one customer, as one JSON document (GDPR Art. 15 and 20); logged in the audit log.");
        api.MapPost("/customers/{externalId}/erase", Erase).WithTags("Privacy")
            .WithSummary("Erase the customer's personal data (GDPR Art. 17), keep anonymous aggregates and a suppression hash; logged.");
        api.MapGet("/audit-log", Audit).WithTags("Privacy").WithSummary("Exports and erasures, newest first, 100 at a time.");
        return api;
    }

    static string Actor(HttpContext http) => Actors.Of(http.User);

    static async Task<Results<JsonHttpResult<object>, ProblemHttpResult>> Export(string externalId, HttpContext http, RetentionDb db,
        SuppressionList suppressions, TimeProvider clock, CancellationToken ct)
    {
        if (await ExportAsync(db, suppressions, externalId, Actor(http), clock.GetUtcNow().UtcDateTime, ct) is not { } document)
            return CustomersApi.NotFound(externalId);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"customer-{Uri.EscapeDataString(externalId)}.json\"";
        return TypedResults.Json(document);
    }

    /// <summary>Everything stored about one customer, logged in the audit log; null when there is no such customer.</summary>
    public static async Task<object?> ExportAsync(RetentionDb db, SuppressionList suppressions, string externalId, string actor, DateTime now, CancellationToken ct)
    {
        var customer = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
        if (customer is null) return null;
        var id = customer.Id;

        var orders = await db.Orders.AsNoTracking().Include(o => o.Lines).Where(o => o.CustomerId == id).OrderBy(o => o.OrderedAt).ToListAsync(ct);
        var answers = await db.SurveyAnswers.AsNoTracking().Where(a => a.CustomerId == id).OrderBy(a => a.AnsweredAt).ToListAsync(ct);
        var consentEvents = await db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == id).OrderBy(e => e.OccurredAt).ThenBy(e => e.Id).ToListAsync(ct);
        var metrics = await db.CustomerMetrics.AsNoTracking().FirstOrDefaultAsync(m => m.CustomerId == id, ct);
        var preferences = await db.CustomerPreferences.AsNoTracking().FirstOrDefaultAsync(p => p.CustomerId == id, ct);
        var emails = await (from d in db.Deliveries.AsNoTracking()
                            join r in db.CampaignRuns on d.RunId equals r.Id
                            join c in db.Campaigns on r.CampaignId equals c.Id
                            where d.CustomerId == id
                            orderby d.UpdatedAt
                            select new { campaign = c.Name, runId = r.Id, status = d.Status, reason = d.Reason, messageId = d.MessageId, reply = d.Reply, at = d.UpdatedAt })
            .ToListAsync(ct);
        var clicks = await db.LinkClicks.AsNoTracking().Where(c => c.CustomerId == id).OrderBy(c => c.ClickedAt).Select(c => new { target = c.Target, at = c.ClickedAt }).ToListAsync(ct);
        var coupons = await db.Coupons.AsNoTracking().Where(c => c.CustomerId == id).OrderBy(c => c.IssuedAt)
            .Select(c => new { code = c.Code, issuedAt = c.IssuedAt, expiresAt = c.ExpiresAt, redeemedAt = c.RedeemedAt }).ToListAsync(ct);
        var normalized = SuppressionList.Normalize(customer.Email);
        var signups = await db.Signups.AsNoTracking().Where(s => s.CustomerId == id || (normalized.Length > 0 && s.Email.ToLower() == normalized))
            .OrderBy(s => s.CreatedAt).Select(s => new { s.Email, s.FirstName, s.Form, s.IpAddress, s.UserAgent, s.ConsentTextVersion, s.CreatedAt, s.ConfirmedAt })
            .ToListAsync(ct);
        var suppression = customer.Email.Length == 0 ? null : await db.Suppressions.AsNoTracking()
            .Where(s => s.AddressHash == suppressions.Hash(customer.Email)).Select(s => new { reason = s.Reason, since = s.CreatedAt }).FirstOrDefaultAsync(ct);

        var referralCode = await db.ReferralCodes.AsNoTracking().Where(c => c.CustomerId == id).Select(c => c.Code).FirstOrDefaultAsync(ct);
        var referrals = await db.Referrals.AsNoTracking().Where(r => r.ReferrerId == id || r.FriendId == id).OrderBy(r => r.Id)
            .Select(r => new { role = r.ReferrerId == id ? "referrer" : "friend", r.Status, r.SignedUpAt, r.IpAddress, r.RewardedAt,
                coupon = r.ReferrerId == id ? r.ReferrerCoupon : r.FriendCoupon })
            .ToListAsync(ct);

        db.AuditLog.Add(new AuditEntry { OccurredAt = now, Actor = actor, Action = AuditActions.Export, CustomerId = id, Subject = externalId });
        await db.SaveChangesAsync(ct);

        return new
        {
            exportedAt = now,
            customer = new
            {
                customer.ExternalId, customer.Email, customer.FirstName, customer.LastName, customer.Locale, customer.TimeZone, customer.Country,
                customer.SignedUpAt, customer.Tags, customer.Attributes, customer.CreatedAt, customer.UpdatedAt, customer.ErasedAt,
            },
            consent = new { current = ConsentApi.StateFrom(consentEvents), events = consentEvents.Select(e => e.AsItem(externalId)), signups },
            preferences = preferences is null ? null : new { preferences.Frequency, preferences.PausedUntil, preferences.TopicsOptedOut, preferences.UpdatedAt },
            suppression,
            metrics,
            orders = orders.Select(o => o.AsItem(externalId)),
            surveyAnswers = answers.Select(a => a.AsItem(externalId)),
            emails,
            linkClicks = clicks,
            coupons,
            referral = new { code = referralCode, referrals },
        };
    }

    static async Task<Results<Ok<ErasureResult>, ProblemHttpResult>> Erase(string externalId, HttpContext http, RetentionDb db,
        SuppressionList suppressions, TimeProvider clock, CancellationToken ct)
    {
        var customer = await db.Customers.FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
        if (customer is null) return CustomersApi.NotFound(externalId);
        if (customer.ErasedAt is not null)
            return Problems.Conflict("externalId", "this customer's personal data was erased already.");
        return TypedResults.Ok(await CustomerErasure.EraseAsync(db, suppressions, customer, Actor(http), clock.GetUtcNow().UtcDateTime, ct));
    }

    static async Task<Results<Ok<AuditPage>, ValidationProblem>> Audit(string? customerId, long? before, RetentionDb db, CancellationToken ct)
    {
        var query = db.AuditLog.AsNoTracking();
        if (customerId is not null) query = query.Where(a => a.Subject == customerId);
        if (before is { } b) query = query.Where(a => a.Id < b);
        var rows = await query.OrderByDescending(a => a.Id).Take(PageSize + 1).ToListAsync(ct);
        var items = rows.Take(PageSize).ToList();
        return TypedResults.Ok(new AuditPage(items, rows.Count > PageSize ? items[^1].Id : null));
    }
}
