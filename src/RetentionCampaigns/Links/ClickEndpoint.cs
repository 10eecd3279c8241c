using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

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
/// sent through here (no open redirect); a forged or damaged token gets an error page and goes nowhere.
/// </summary>
public static class ClickEndpoint
{
    public static void MapClicks(this IEndpointRouteBuilder app) =>
        app.MapGet("/c/{token}", FollowAsync).ExcludeFromDescription();

    static async Task<IResult> FollowAsync(string token, LinkTokens tokens, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        if (!tokens.TryVerify(token, LinkPurpose.Click, out var claims, out _) || claims!.Target is not { } target
            || !Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return Results.Content("""
                <!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Link ungültig / Invalid link</title></head>
                <body><h1>Dieser Link ist ungültig.</h1><p>Bitte prüfen Sie, ob er vollständig kopiert wurde.</p>
                <h1 lang="en">This link is not valid.</h1><p lang="en">Please check that it was copied completely.</p></body></html>
                """, "text/html; charset=utf-8", statusCode: 400);
        }
        // A customer erased since the email went out is not recorded; the link still works.
        if (await db.Customers.AnyAsync(c => c.Id == claims.CustomerId, ct))
        {
            db.LinkClicks.Add(new LinkClick { CustomerId = claims.CustomerId, Target = target, ClickedAt = clock.GetUtcNow().UtcDateTime });
            await db.SaveChangesAsync(ct);
        }
        return Results.Redirect(uri.AbsoluteUri);
    }
}
