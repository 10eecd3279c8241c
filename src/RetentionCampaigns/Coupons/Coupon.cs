using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Coupons;

/// <summary>A coupon code: in a pool until issued to a customer, then with the terms it was issued on (migration 0011).</summary>
public sealed class Coupon
{
    public required string Code { get; set; }
    /// <summary>Whose codes these are, e.g. <c>campaign:12</c>.</summary>
    public required string Pool { get; set; }
    public required string Source { get; set; }
    public long? CustomerId { get; set; }
    /// <summary>What the coupon was issued for, e.g. <c>run:45</c>: one coupon per customer and purpose.</summary>
    public string? IssuedFor { get; set; }
    public long? ValueMinor { get; set; }
    public int? PercentOff { get; set; }
    public long? MinimumOrderMinor { get; set; }
    public DateTime? ExpiresAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? IssuedAt { get; set; }
    public DateTime? RedeemedAt { get; set; }
    public string? RedeemedOrderId { get; set; }
}

public static class CouponSources
{
    public const string Uploaded = "uploaded", Generated = "generated";
}

/// <summary>What an issued coupon is worth: an amount or a percentage, an optional minimum order, days of validity.</summary>
public sealed record CouponTerms(bool Generate, string? Prefix, long? ValueMinor, int? PercentOff, long? MinimumOrderMinor, int ValidDays);

/// <summary>
/// Issues coupons to customers, idempotently: a customer asked for again for the same purpose gets the coupon issued
/// before. Generated codes are random (50 bits from an alphabet without look-alike letters); uploaded codes are
/// taken from the pool in code order, each by a conditional update, so two jobs never issue one code twice.
/// </summary>
public static class CouponIssuer
{
    /// <summary>Crockford's base 32: no I, L, O or U, so a code read aloud or typed is hard to get wrong.</summary>
    const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const int GeneratedLength = 10;
    /// <summary>Rounds of "take free codes, assign them" before giving up on a contended pool.</summary>
    const int MaxRounds = 10;

    public static string NewCode(string? prefix) =>
        (string.IsNullOrEmpty(prefix) ? "" : prefix.TrimEnd('-') + "-") + RandomNumberGenerator.GetString(Alphabet, GeneratedLength);

    /// <summary>The coupons of these customers for this purpose; customers left out got none (the pool is empty).</summary>
    public static async Task<Dictionary<long, Coupon>> IssueAsync(RetentionDb db, string pool, CouponTerms terms, string issuedFor,
        IReadOnlyCollection<long> customerIds, DateTime now, CancellationToken ct)
    {
        var issued = await IssuedAsync(db, issuedFor, customerIds, ct);
        var expires = now.AddDays(terms.ValidDays);
        for (var round = 0; round < MaxRounds; round++)
        {
            var missing = customerIds.Where(id => !issued.ContainsKey(id)).ToList();
            if (missing.Count == 0) break;
            List<(string Code, long CustomerId)> pairs;
            if (terms.Generate) pairs = missing.Select(id => (NewCode(terms.Prefix), id)).ToList();
            else
            {
                var free = await db.Coupons.Where(c => c.Pool == pool && c.IssuedAt == null).OrderBy(c => c.Code)
                    .Select(c => c.Code).Take(missing.Count).ToListAsync(ct);
                if (free.Count == 0) break;
                pairs = free.Zip(missing).ToList();
            }
            await (terms.Generate ? InsertGeneratedAsync(db, pool, terms, issuedFor, pairs, expires, now, ct) : TakeFromPoolAsync(db, terms, issuedFor, pairs, expires, now, ct));
            issued = await IssuedAsync(db, issuedFor, customerIds, ct);
        }
        return issued;
    }

    /// <summary>Coupons of messages that never reached the customer: uploaded codes go back to the pool, generated ones go.</summary>
    public static async Task ReleaseAsync(RetentionDb db, string issuedFor, IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        if (customerIds.Count == 0) return;
        var unused = db.Coupons.Where(c => c.IssuedFor == issuedFor && customerIds.Contains(c.CustomerId!.Value) && c.RedeemedAt == null);
        await unused.Where(c => c.Source == CouponSources.Generated).ExecuteDeleteAsync(ct);
        await unused.Where(c => c.Source == CouponSources.Uploaded).ExecuteUpdateAsync(u => u
            .SetProperty(c => c.CustomerId, (long?)null).SetProperty(c => c.IssuedFor, (string?)null).SetProperty(c => c.IssuedAt, (DateTime?)null)
            .SetProperty(c => c.ExpiresAt, (DateTime?)null).SetProperty(c => c.ValueMinor, (long?)null).SetProperty(c => c.PercentOff, (int?)null)
            .SetProperty(c => c.MinimumOrderMinor, (long?)null), ct);
    }

    static Task<Dictionary<long, Coupon>> IssuedAsync(RetentionDb db, string issuedFor, IReadOnlyCollection<long> customerIds, CancellationToken ct) =>
        db.Coupons.AsNoTracking().Where(c => c.IssuedFor == issuedFor && customerIds.Contains(c.CustomerId!.Value))
            .ToDictionaryAsync(c => c.CustomerId!.Value, ct);

    static async Task InsertGeneratedAsync(RetentionDb db, string pool, CouponTerms terms, string issuedFor, List<(string Code, long CustomerId)> pairs,
        DateTime expires, DateTime now, CancellationToken ct)
    {
        // A code that collides with an existing one, or a customer issued one meanwhile, is left out; the next round sees to it.
        var rows = string.Join(", ", pairs.Select((_, i) => $"(@c{i}, @pool, '{CouponSources.Generated}', @u{i}, @for, @value, @percent, @minimum, @expires, @now, @now)"));
        await ExecuteAsync(db,
            "INSERT INTO coupons (code, pool, source, customer_id, issued_for, value_minor, percent_off, minimum_order_minor, expires_at, created_at, issued_at) " +
            $"VALUES {rows} ON CONFLICT DO NOTHING",
            [("@pool", pool), .. TermParameters(terms, issuedFor, expires, now), .. PairParameters(pairs)], ct);
    }

    static async Task TakeFromPoolAsync(RetentionDb db, CouponTerms terms, string issuedFor, List<(string Code, long CustomerId)> pairs,
        DateTime expires, DateTime now, CancellationToken ct)
    {
        // "issued_at IS NULL" makes the update a compare-and-set: a code another job took meanwhile stays with it.
        var rows = string.Join(", ", pairs.Select((_, i) => $"(@c{i}, @u{i})"));
        await ExecuteAsync(db,
            "UPDATE coupons SET customer_id = v.column2, issued_for = @for, issued_at = @now, expires_at = @expires, value_minor = @value, " +
            $"percent_off = @percent, minimum_order_minor = @minimum FROM (VALUES {rows}) AS v WHERE coupons.code = v.column1 AND coupons.issued_at IS NULL",
            [.. TermParameters(terms, issuedFor, expires, now), .. PairParameters(pairs)], ct);
    }

    static IEnumerable<(string, object?)> TermParameters(CouponTerms terms, string issuedFor, DateTime expires, DateTime now) =>
        [("@for", issuedFor), ("@value", terms.ValueMinor), ("@percent", terms.PercentOff), ("@minimum", terms.MinimumOrderMinor), ("@expires", expires), ("@now", now)];

    static IEnumerable<(string, object?)> PairParameters(List<(string Code, long CustomerId)> pairs) =>
        pairs.SelectMany((p, i) => new (string, object?)[] { ($"@c{i}", p.Code), ($"@u{i}", p.CustomerId) });

    static async Task ExecuteAsync(RetentionDb db, string sql, IEnumerable<(string, object?)> parameters, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        var opened = connection.State != System.Data.ConnectionState.Open;
        if (opened) await db.Database.OpenConnectionAsync(ct);
        try { await connection.ExecuteAsync(sql, db.Database.CurrentTransaction?.GetDbTransaction(), parameters, ct); }
        finally { if (opened) await db.Database.CloseConnectionAsync(); }
    }
}
