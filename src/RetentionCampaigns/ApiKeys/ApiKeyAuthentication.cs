using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.ApiKeys;

public static class ApiKeyService
{
    const string KeyPrefix = "rc_";

    public static async Task<string> CreateAsync(RetentionDb db, string name, TimeProvider clock, CancellationToken ct = default)
    {
        var key = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        db.ApiKeys.Add(new ApiKey { Name = name, KeyHash = Hash(key), Prefix = key[..10], CreatedAt = clock.GetUtcNow().UtcDateTime });
        await db.SaveChangesAsync(ct);
        return key;
    }

    public sealed record ApiKeyItem(long Id, string Name, string Prefix, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt);

    public static Task<List<ApiKeyItem>> ListAsync(RetentionDb db, CancellationToken ct) =>
        db.ApiKeys.AsNoTracking().OrderBy(k => k.Id)
            .Select(k => new ApiKeyItem(k.Id, k.Name, k.Prefix, k.CreatedAt, k.LastUsedAt, k.RevokedAt)).ToListAsync(ct);

    /// <summary>Revokes a key by its id or the prefix shown in lists; false when no active key matches.</summary>
    public static async Task<bool> RevokeAsync(RetentionDb db, string idOrPrefix, DateTime now, CancellationToken ct)
    {
        var keys = long.TryParse(idOrPrefix, out var id) ? db.ApiKeys.Where(k => k.Id == id) : db.ApiKeys.Where(k => k.Prefix == idOrPrefix);
        return await keys.Where(k => k.RevokedAt == null).ExecuteUpdateAsync(u => u.SetProperty(k => k.RevokedAt, now), ct) > 0;
    }

    // The keys carry 256 random bits, so a plain SHA-256 is enough; no slow password hash is needed.
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Records each key's use, at most once a minute per key and node: a busy integration costs no write per request.</summary>
public sealed class ApiKeyUsage(TimeProvider clock)
{
    readonly System.Collections.Concurrent.ConcurrentDictionary<long, DateTime> lastWritten = new();

    public async Task TouchAsync(RetentionDb db, long keyId, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (lastWritten.TryGetValue(keyId, out var last) && now - last < TimeSpan.FromMinutes(1)) return;
        lastWritten[keyId] = now;
        await db.ApiKeys.Where(k => k.Id == keyId).ExecuteUpdateAsync(u => u.SetProperty(k => k.LastUsedAt, now), ct);
    }
}

public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, RetentionDb db, ApiKeyUsage usage)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string KeyIdClaim = "api_key_id";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var hash = ApiKeyService.Hash(header["Bearer ".Length..].Trim());
        var key = await db.ApiKeys.AsNoTracking()
            .Where(k => k.KeyHash == hash && k.RevokedAt == null)
            .Select(k => new { k.Id, k.Name })
            .FirstOrDefaultAsync(Context.RequestAborted);
        if (key is null) return AuthenticateResult.Fail("Unknown or revoked API key.");
        await usage.TouchAsync(db, key.Id, Context.RequestAborted);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, key.Name), new Claim(KeyIdClaim, key.Id.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return base.HandleChallengeAsync(properties);
    }
}
