using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Links;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Signups;

namespace RetentionCampaigns.PublicPages;

/// <summary>Marks the one-click unsubscribe: mailbox providers post it in bulk from few addresses, so only bad links count against them.</summary>
public sealed class NotRateLimited
{
    public static readonly NotRateLimited Instance = new();
}

/// <summary>
/// Per client address: a budget of requests per minute for the public pages, and a smaller one of links that fail
/// to verify (someone guessing tokens), after which the address gets 429 for the rest of the minute. In memory,
/// per node: a limit against abuse, not an accounting.
/// </summary>
public sealed class PublicRateLimits : IDisposable
{
    readonly PartitionedRateLimiter<string> requests;
    readonly PartitionedRateLimiter<string> badLinks;
    readonly PartitionedRateLimiter<string> signups;

    public PublicRateLimits(IOptions<PublicPageOptions> options)
    {
        var o = options.Value;
        requests = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, o.RequestsPerMinute), TokensPerPeriod = Math.Max(1, o.RequestsPerMinute / 60), ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0, AutoReplenishment = true,
        }));
        badLinks = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, o.BadLinksPerMinute), Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true,
        }));
        signups = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = Math.Max(1, o.SignupsPerHour), Window = TimeSpan.FromHours(1), QueueLimit = 0, AutoReplenishment = true,
        }));
    }

    public bool TryRequest(string address)
    {
        using var lease = requests.AttemptAcquire(address);
        return lease.IsAcquired;
    }

    public bool TooManyBadLinks(string address) => badLinks.GetStatistics(address)?.CurrentAvailablePermits == 0;

    public void BadLink(string address) => badLinks.AttemptAcquire(address).Dispose();

    public bool TrySignup(string address)
    {
        using var lease = signups.AttemptAcquire(address);
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        requests.Dispose();
        badLinks.Dispose();
        signups.Dispose();
    }
}

/// <summary>The route group of every public page: security headers, rate limits, and the one way a bad link is answered.</summary>
public static class PublicEndpoints
{
    public static RouteGroupBuilder MapPublicPages(this IEndpointRouteBuilder app)
    {
        var pages = app.MapGroup("").ExcludeFromDescription().AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            SetSecurityHeaders(http.Response);
            var limits = http.RequestServices.GetRequiredService<PublicRateLimits>();
            var address = ClientAddress(http);
            var counted = http.GetEndpoint()?.Metadata.GetMetadata<NotRateLimited>() is null;
            if (limits.TooManyBadLinks(address) || (counted && !limits.TryRequest(address)))
            {
                http.Response.Headers.RetryAfter = "60";
                var shop = http.RequestServices.GetRequiredService<IOptions<ShopOptions>>().Value;
                var text = PageText.For(PublicPage.PreferredLocale(http, shop.DefaultLocale));
                return PublicPage.Render(429, text.Locale, shop.Name, text.TooManyTitle, $"<p>{PublicPage.Encode(text.TooMany)}</p>");
            }
            return await next(context);
        });
        pages.MapClicks();
        pages.MapUnsubscribePages();
        pages.MapPreferencePages();
        pages.MapSignupPages();
        pages.MapReferralLandingPage();
        // An incomplete or mangled link under a public path gets the same page as a bad token, counted alike.
        foreach (var prefix in new[] { "/u", "/p", "/c", "/r", "/confirm" })
            pages.MapMethods(prefix + "/{**rest}", [HttpMethods.Get, HttpMethods.Post], (HttpContext http, IOptions<ShopOptions> shop) =>
            {
                http.RequestServices.GetRequiredService<PublicRateLimits>().BadLink(ClientAddress(http));
                return PublicPage.NotFound(http, shop.Value);
            });
        return pages;
    }

    /// <summary>Verifies a token of the given purpose; a failure is counted against the client and answered with the 400/410 page.</summary>
    public static bool TryVerify(HttpContext http, string token, LinkPurpose purpose, out LinkClaims claims, out IResult failurePage)
    {
        var tokens = http.RequestServices.GetRequiredService<LinkTokens>();
        if (tokens.TryVerify(token, purpose, out var verified, out var failure))
        {
            (claims, failurePage) = (verified!, Results.Empty);
            return true;
        }
        http.RequestServices.GetRequiredService<PublicRateLimits>().BadLink(ClientAddress(http));
        var shop = http.RequestServices.GetRequiredService<IOptions<ShopOptions>>().Value;
        (claims, failurePage) = (null!, PublicPage.BadLink(http, failure, shop, purpose));
        return false;
    }

    public static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    static void SetSecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = PublicPage.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // The token in the path is the customer's key to these pages: it must not travel on in a Referer.
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        if (response.HttpContext.Request.IsHttps) headers.StrictTransportSecurity = "max-age=31536000";
    }
}
