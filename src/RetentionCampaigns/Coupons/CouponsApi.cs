using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Coupons;

public sealed record CouponUpload(List<string?>? Codes);
public sealed record CouponUploadResult(int Added, int AlreadyKnown, int Available);
public sealed record PoolSummary(string Pool, int Available, int Issued, int Redeemed, int Expired);
public sealed record CouponItem(string Code, string Status, string Source, string? CustomerId, string? IssuedFor, decimal? Value, int? PercentOff,
    decimal? MinimumOrder, string Currency, DateTime? ExpiresAt, DateTime? IssuedAt, DateTime? RedeemedAt, string? RedeemedOrderId);
public sealed record RedeemInput(string? OrderId);

/// <summary>
/// Coupon pools and the shop's checkout: upload codes for a campaign, see how many are left, look a code up and
/// redeem it. Codes are case-insensitive (kept in capitals), as customers type them.
/// </summary>
public static partial class CouponsApi
{
    public static string CampaignPool(long campaignId) => $"campaign:{campaignId}";

    public static RouteGroupBuilder MapCoupons(this RouteGroupBuilder api)
    {
        var campaigns = api.MapGroup("/campaigns/{id:long}/coupons").WithTags("Coupons");
        campaigns.MapPost("/", Upload).WithSummary("Add codes to the campaign's pool (offer.codes = pool); codes already known are left as they are.");
        campaigns.MapGet("/", Summary).WithSummary("How many of the campaign's coupons are available, issued, redeemed and expired.");
        var coupons = api.MapGroup("/coupons").WithTags("Coupons");
        coupons.MapGet("/{code}", Get).WithSummary("One coupon for the checkout: its status, terms, customer and expiry.");
        coupons.MapPost("/{code}/redeem", Redeem).WithSummary("Mark a coupon redeemed by an order; repeating it for the same order is harmless.");
        return api;
    }

    static async Task<Results<Ok<CouponUploadResult>, ValidationProblem, ProblemHttpResult>> Upload(long id, CouponUpload input, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct)) return CampaignNotFound(id);
        return await UploadAsync(db, CampaignPool(id), input, clock.GetUtcNow().UtcDateTime, ct);
    }

    /// <summary>Adds codes to a pool (a campaign's, a referral program's); codes known anywhere are left alone.</summary>
    public static async Task<Results<Ok<CouponUploadResult>, ValidationProblem, ProblemHttpResult>> UploadAsync(RetentionDb db, string pool,
        CouponUpload input, DateTime now, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (BatchLimit.Check(input.Codes, "codes", errors) is { } tooMany) return tooMany;
        var codes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < input.Codes!.Count; i++)
        {
            var code = Normalize(input.Codes[i]);
            if (code is null || !CodePattern().IsMatch(code)) errors.Add($"codes[{i}]", "must be 3 to 64 letters, digits, dashes, dots or underscores.");
            else codes.Add(code);
        }
        if (errors.Any) return errors.ToProblem();

        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in codes.Chunk(1000))
            known.UnionWith(await db.Coupons.Where(c => chunk.Contains(c.Code)).Select(c => c.Code).ToListAsync(ct));
        db.Coupons.AddRange(codes.Except(known).Select(code => new Coupon { Code = code, Pool = pool, Source = CouponSources.Uploaded, CreatedAt = now }));
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            return Problems.Conflict("codes", "another upload added some of these codes at the same moment; send the list again (known codes are left alone).");
        }
        var available = await db.Coupons.CountAsync(c => c.Pool == pool && c.IssuedAt == null, ct);
        return TypedResults.Ok(new CouponUploadResult(codes.Count - known.Count, known.Count, available));
    }

    static async Task<Results<Ok<PoolSummary>, ProblemHttpResult>> Summary(long id, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct)) return CampaignNotFound(id);
        return TypedResults.Ok(await SummaryAsync(db, CampaignPool(id), clock.GetUtcNow().UtcDateTime, ct));
    }

    public static async Task<PoolSummary> SummaryAsync(RetentionDb db, string pool, DateTime now, CancellationToken ct)
    {
        var coupons = db.Coupons.Where(c => c.Pool == pool);
        return new PoolSummary(pool,
            await coupons.CountAsync(c => c.IssuedAt == null, ct),
            await coupons.CountAsync(c => c.IssuedAt != null, ct),
            await coupons.CountAsync(c => c.RedeemedAt != null, ct),
            await coupons.CountAsync(c => c.RedeemedAt == null && c.ExpiresAt != null && c.ExpiresAt < now, ct));
    }

    static async Task<Results<Ok<CouponItem>, ProblemHttpResult>> Get(string code, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var coupon = await FindAsync(db, code, ct);
        if (coupon is null) return CouponNotFound();
        return TypedResults.Ok(await AsItemAsync(db, coupon, shop.Value.Currency, clock.GetUtcNow().UtcDateTime, ct));
    }

    static async Task<Results<Ok<CouponItem>, ValidationProblem, ProblemHttpResult>> Redeem(string code, RedeemInput input, RetentionDb db,
        IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var orderId = errors.Required("orderId", input.OrderId, 100);
        if (errors.Any) return errors.ToProblem();
        var coupon = await FindAsync(db, code, ct);
        if (coupon is null) return CouponNotFound();
        var now = clock.GetUtcNow().UtcDateTime;
        if (coupon.RedeemedAt is not null && coupon.RedeemedOrderId != orderId)
            return Problems.Conflict("code", $"the coupon was redeemed by order '{coupon.RedeemedOrderId}' on {coupon.RedeemedAt:yyyy-MM-dd}.");
        if (coupon.RedeemedAt is null)
        {
            if (coupon.IssuedAt is null) return Problems.Conflict("code", "the coupon has not been issued to anyone yet.");
            if (coupon.ExpiresAt < now) return Problems.Conflict("code", $"the coupon expired on {coupon.ExpiresAt:yyyy-MM-dd}.");
            // Conditional, so two checkouts redeeming one code at once cannot both succeed.
            var changed = await db.Coupons.Where(c => c.Code == coupon.Code && c.RedeemedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.RedeemedAt, now).SetProperty(c => c.RedeemedOrderId, orderId), ct);
            coupon = await db.Coupons.AsNoTracking().FirstAsync(c => c.Code == coupon.Code, ct);
            if (changed == 0 && coupon.RedeemedOrderId != orderId)
                return Problems.Conflict("code", $"the coupon was redeemed by order '{coupon.RedeemedOrderId}' at the same moment.");
        }
        return TypedResults.Ok(await AsItemAsync(db, coupon, shop.Value.Currency, now, ct));
    }

    static Task<Coupon?> FindAsync(RetentionDb db, string code, CancellationToken ct)
    {
        var normalized = Normalize(code) ?? "";
        return db.Coupons.AsNoTracking().FirstOrDefaultAsync(c => c.Code == normalized, ct);
    }

    static async Task<CouponItem> AsItemAsync(RetentionDb db, Coupon c, string currency, DateTime now, CancellationToken ct)
    {
        var customer = c.CustomerId is { } id ? await db.Customers.Where(x => x.Id == id).Select(x => x.ExternalId).FirstOrDefaultAsync(ct) : null;
        var status = c.RedeemedAt is not null ? "redeemed" : c.IssuedAt is null ? "available" : c.ExpiresAt < now ? "expired" : "issued";
        return new CouponItem(c.Code, status, c.Source, customer, c.IssuedFor, Amount(c.ValueMinor), c.PercentOff, Amount(c.MinimumOrderMinor), currency,
            c.ExpiresAt, c.IssuedAt, c.RedeemedAt, c.RedeemedOrderId);
    }

    static decimal? Amount(long? minor) => minor is { } m ? FieldRules.FromMinorUnits(m) : null;

    static string? Normalize(string? code) => code?.Trim().ToUpperInvariant();

    static ProblemHttpResult CampaignNotFound(long id) => TypedResults.Problem(title: "Campaign not found.", detail: $"No campaign has the id {id}.", statusCode: 404);

    static ProblemHttpResult CouponNotFound() => TypedResults.Problem(title: "Coupon not found.", detail: "No coupon has this code.", statusCode: 404);

    [GeneratedRegex("^[A-Z0-9._-]{3,64}$")]
    private static partial Regex CodePattern();
}
