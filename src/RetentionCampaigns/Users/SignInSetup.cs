using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using RetentionCampaigns.ApiKeys;

namespace RetentionCampaigns.Users;

/// <summary>
/// Sign-in for the marketer UI beside the API keys: a policy scheme sends requests with a Bearer header to the
/// API keys and everything else to the session cookie. The API itself takes API keys only (a cookie carries no
/// protection against cross-site requests there); the pages take the cookie, with antiforgery on every form.
/// </summary>
public static class SignInSetup
{
    public const string Scheme = "app", CookieName = "rc_session";
    public const string SignedIn = "signed-in", CanChange = "can-change", AdminOnly = "admin-only";

    public static void AddSignIn(this IServiceCollection services)
    {
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key or signed-in user", options => options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.LoginPath = "/account/sign-in";
                options.LogoutPath = "/account/sign-out";
                options.AccessDeniedPath = "/account/denied";
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
            });
        services.AddAuthorizationBuilder()
            .AddPolicy(SignedIn, policy => policy.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme).RequireAuthenticatedUser())
            .AddPolicy(CanChange, policy => policy.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme)
                .RequireRole(UserRoles.Changing))
            .AddPolicy(AdminOnly, policy => policy.AddAuthenticationSchemes(CookieAuthenticationDefaults.AuthenticationScheme).RequireRole(UserRoles.Admin));
        services.AddSingleton<SignInAttempts>();
        // Every node signs and reads cookies with the same keys (the database's), and under one application name.
        services.AddDataProtection().SetApplicationName("RetentionCampaigns");
        SharedKeyRing.AddSharedKeyRing(services);
        services.AddLocalization();
        // Umlauts and other letters stay readable in the pages' HTML; markup characters are still encoded.
        services.AddWebEncoders(options => options.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        services.AddRazorPages(options =>
        {
            options.Conventions.AuthorizeFolder("/", SignedIn);
            options.Conventions.AllowAnonymousToPage("/Account/SignIn");
            options.Conventions.AddPageRoute("/Segments/Edit", "segments/new");
            options.Conventions.ConfigureFilter(new Pages.UiHeaders());
        });
    }

    /// <summary>
    /// The UI's language: the user's own choice (a claim), else the browser's, else the shop's. Only for the UI: the
    /// API and the public pages format their own text (and choose their language by the customer).
    /// </summary>
    public static void UseUiLanguage(this WebApplication app)
    {
        var shop = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ShopOptions>>().Value;
        string[] cultures = ["de", "en"];
        var options = new RequestLocalizationOptions().SetDefaultCulture(shop.DefaultLocale == "en" ? "en" : "de")
            .AddSupportedCultures(cultures).AddSupportedUICultures(cultures);
        options.RequestCultureProviders.Insert(0, new Microsoft.AspNetCore.Localization.CustomRequestCultureProvider(context =>
            Task.FromResult(context.User.FindFirst(LocaleClaim)?.Value is { } locale ? new Microsoft.AspNetCore.Localization.ProviderCultureResult(locale) : null)));
        string[] notUi = ["/api", "/openapi", "/health", "/u", "/p", "/c", "/r", "/confirm", "/signup"];
        app.UseWhen(context => !notUi.Any(prefix => context.Request.Path.StartsWithSegments(prefix)), ui => ui.UseRequestLocalization(options));
    }

    public const string LocaleClaim = "locale";

    /// <summary>The API's own policy: API keys only.</summary>
    public static AuthorizationPolicy ApiPolicy { get; } =
        new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build();

    public static ClaimsPrincipal Principal(User user) => new(new ClaimsIdentity(
    [
        new Claim(ClaimTypes.NameIdentifier, user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new Claim(ClaimTypes.Name, user.Email),
        new Claim(ClaimTypes.Role, user.Role),
        .. user.Locale is { } locale ? [new Claim(LocaleClaim, locale)] : Array.Empty<Claim>(),
    ], CookieAuthenticationDefaults.AuthenticationScheme));
}

/// <summary>Sign-in attempts per client address and per account: a handful a minute, so guessing passwords is slow.</summary>
public sealed class SignInAttempts : IDisposable
{
    readonly PartitionedRateLimiter<string> limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key,
        _ => new FixedWindowRateLimiterOptions { PermitLimit = 5, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true }));

    public bool TryAttempt(string clientAddress, string email)
    {
        using var byAddress = limiter.AttemptAcquire("ip:" + clientAddress);
        using var byAccount = limiter.AttemptAcquire("user:" + email.Trim().ToLowerInvariant());
        return byAddress.IsAcquired && byAccount.IsAcquired;
    }

    public void Dispose() => limiter.Dispose();
}
