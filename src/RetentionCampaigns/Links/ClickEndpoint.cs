using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.PublicPages;

namespace RetentionCampaigns.Links;

public sealed class LinkClick
{
    public long Id { get; set; }
    public long CustomerId { get; set; }
    public required string Target { get; set; }
    public DateTime ClickedAt { get; set; }
}

/// <summary>
/// <c>/c/{token}</c>: a tracked link in an email. The target is inside the signed token, so nothing else can be
/// sent through here (no open redirect); a forged or damaged token gets the 400 page and goes nowhere, and counts
/// against the client's bad-link budget like any other public page.
/// </summary>
public static class ClickEndpoint
{
    public static void MapClicks(this IEndpointRouteBuilder app) =>
        app.MapGet("/c/{token}", FollowAsync).ExcludeFromDescription();

    static async Task<IResult> FollowAsync(string token, HttpContext http, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Click, out var claims, out var failure)) return failure;
        if (claims.Target is not { } target || !Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return PublicPage.BadLink(http, TokenFailure.Malformed, shop.Value);
        // Recorded only while the customer still allows tracking and exists unerased, never from a test email; the link works either way.
        var tracking = !claims.Test && await db.Customers.AnyAsync(c => c.Id == claims.CustomerId && c.ErasedAt == null, ct)
                       && (await ConsentApi.CurrentStateAsync(db, claims.CustomerId, ct))["tracking"].Status == "granted";
        if (tracking)
        {
            db.LinkClicks.Add(new LinkClick { CustomerId = claims.CustomerId, Target = target, ClickedAt = clock.GetUtcNow().UtcDateTime });
            await db.SaveChangesAsync(ct);
        }
        return Results.Redirect(uri.AbsoluteUri);
    }
}
