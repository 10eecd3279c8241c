using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Links;

/// <summary>What a signed link may do; a token made for one purpose never verifies for another.</summary>
public enum LinkPurpose : byte
{
    Unsubscribe = 1,
    Preferences = 2,
    Confirm = 3,
    Click = 4,
}

/// <param name="Test">A link from a test email or a preview: its page shows what the customer would see and changes nothing.</param>
public sealed record LinkClaims(LinkPurpose Purpose, long CustomerId, DateTime? ExpiresAt, string? Target, bool Test = false);

public enum TokenFailure { Malformed, BadSignature, WrongPurpose, Expired }

public sealed class SigningKey
{
    public int Id { get; set; }
    public required byte[] Secret { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>Section <c>Links</c>.</summary>
public sealed class PublicLinkOptions
{
    /// <summary>Where customers reach the public pages, e.g. https://mail.shop.example.</summary>
    public string PublicBaseUrl { get; set; } = "http://localhost:5080";
    /// <summary>Signing keys from configuration (id 1-255 and a base64 secret of at least 32 bytes); added to those in the database.</summary>
    public List<ConfiguredKey> SigningKeys { get; set; } = [];

    public sealed class ConfiguredKey
    {
        public int Id { get; set; }
        public string Secret { get; set; } = "";
    }
}

/// <summary>
/// HMAC-SHA256 signed tokens for the links in our emails: purpose- and customer-bound, with an optional expiry,
/// verified in constant time, under rotating keys (the newest signs, every known key verifies). Layout, then
/// base64url: version, key id, purpose (its high bit marks a test link), customer id (8 bytes), expiry in Unix seconds (8 bytes, 0 for none),
/// the target of a click link (UTF-8), and the first 16 bytes of the MAC.
/// </summary>
public sealed class LinkTokens
{
    const byte FormatVersion = 1;
    const int HeaderLength = 1 + 1 + 1 + 8 + 8;
    const int MacLength = 16;
    const byte TestBit = 0x80;

    readonly IReadOnlyDictionary<int, byte[]> keys;
    readonly int currentKey;
    readonly TimeProvider clock;
    // A keyed HMAC per thread: HMACSHA256.HashData sets the key up again on every call, which was a third of a
    // message's render time (tests/RetentionCampaigns.Benchmarks, "render").
    readonly ThreadLocal<HMACSHA256> signer;

    public LinkTokens(IReadOnlyDictionary<int, byte[]> keys, TimeProvider clock)
    {
        if (keys.Count == 0) throw new ArgumentException("At least one signing key is needed.", nameof(keys));
        this.keys = keys;
        currentKey = keys.Keys.Max();
        this.clock = clock;
        signer = new ThreadLocal<HMACSHA256>(() => new HMACSHA256(keys[currentKey]));
    }

    public string Create(LinkPurpose purpose, long customerId, DateTime? expiresAt = null, string? target = null, bool test = false)
    {
        var targetBytes = target is null ? [] : Encoding.UTF8.GetBytes(target);
        var token = new byte[HeaderLength + targetBytes.Length + MacLength];
        token[0] = FormatVersion;
        token[1] = (byte)currentKey;
        token[2] = (byte)((byte)purpose | (test ? TestBit : 0));
        BinaryPrimitives.WriteInt64BigEndian(token.AsSpan(3), customerId);
        BinaryPrimitives.WriteInt64BigEndian(token.AsSpan(11), expiresAt is { } e ? new DateTimeOffset(e, TimeSpan.Zero).ToUnixTimeSeconds() : 0);
        targetBytes.CopyTo(token, HeaderLength);
        var payloadLength = token.Length - MacLength;
        Span<byte> mac = stackalloc byte[32];
        signer.Value!.TryComputeHash(token.AsSpan(0, payloadLength), mac, out _);
        mac[..MacLength].CopyTo(token.AsSpan(payloadLength));
        return Base64Url.EncodeToString(token);
    }

    public bool TryVerify(string token, LinkPurpose purpose, out LinkClaims? claims, out TokenFailure failure)
    {
        claims = null;
        failure = TokenFailure.Malformed;
        if (token.Length is 0 or > 4096 || !Base64Url.IsValid(token)) return false;
        var bytes = Base64Url.DecodeFromChars(token);
        if (bytes.Length < HeaderLength + MacLength || bytes[0] != FormatVersion) return false;
        if (!keys.TryGetValue(bytes[1], out var key)) { failure = TokenFailure.BadSignature; return false; }
        var payloadLength = bytes.Length - MacLength;
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, bytes.AsSpan(0, payloadLength), mac);
        if (!CryptographicOperations.FixedTimeEquals(mac[..MacLength], bytes.AsSpan(payloadLength))) { failure = TokenFailure.BadSignature; return false; }
        if ((bytes[2] & ~TestBit) != (byte)purpose) { failure = TokenFailure.WrongPurpose; return false; }
        var expires = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(11));
        DateTime? expiresAt = expires == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(expires).UtcDateTime;
        if (expiresAt is { } at && clock.GetUtcNow().UtcDateTime > at) { failure = TokenFailure.Expired; return false; }
        var target = payloadLength > HeaderLength ? Encoding.UTF8.GetString(bytes, HeaderLength, payloadLength - HeaderLength) : null;
        claims = new LinkClaims(purpose, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(3)), expiresAt, target, (bytes[2] & TestBit) != 0);
        return true;
    }

    /// <summary>
    /// A short lowercase tag (key id and 40 bits of HMAC, 12 hex digits) binding a payload to our keys, for where a
    /// token must survive case folding and fit an address's local part (VERP return paths).
    /// </summary>
    public string ShortTag(string payload) => $"{currentKey:x2}{ShortMac(keys[currentKey], payload)}";

    public bool VerifyShortTag(string payload, string tag)
    {
        if (tag.Length != 12 || !int.TryParse(tag.AsSpan(0, 2), System.Globalization.NumberStyles.HexNumber, null, out var keyId)
            || !keys.TryGetValue(keyId, out var key)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ShortMac(key, payload)), Encoding.ASCII.GetBytes(tag[2..].ToLowerInvariant()));
    }

    static string ShortMac(byte[] key, string payload) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes("tag:" + payload)).AsSpan(0, 5));

    /// <summary>Configured keys plus those in the database; creates the first database key when there is none.</summary>
    public static async Task<LinkTokens> LoadAsync(RetentionDb db, PublicLinkOptions options, TimeProvider clock, CancellationToken ct)
    {
        var keys = new Dictionary<int, byte[]>();
        foreach (var configured in options.SigningKeys)
        {
            var secret = Convert.FromBase64String(configured.Secret);
            if (configured.Id is < 1 or > 255 || secret.Length < 32)
                throw new InvalidOperationException($"Links:SigningKeys: key {configured.Id} needs an id from 1 to 255 and a base64 secret of at least 32 bytes.");
            keys[configured.Id] = secret;
        }
        if (keys.Count == 0)
        {
            if (!await db.SigningKeys.AnyAsync(ct))
            {
                try
                {
                    db.SigningKeys.Add(new SigningKey { Id = 1, Secret = RandomNumberGenerator.GetBytes(32), CreatedAt = clock.GetUtcNow().UtcDateTime });
                    await db.SaveChangesAsync(ct);
                }
                catch (DbUpdateException)
                {
                    db.ChangeTracker.Clear(); // another node created it at the same moment: use theirs
                }
            }
            foreach (var stored in await db.SigningKeys.AsNoTracking().ToListAsync(ct)) keys[stored.Id] = stored.Secret;
        }
        return new LinkTokens(keys, clock);
    }
}

/// <summary>The absolute URLs of the public pages, with fresh tokens.</summary>
public sealed class LinkBuilder(LinkTokens tokens, IOptions<PublicLinkOptions> options)
{
    string Base => options.Value.PublicBaseUrl.TrimEnd('/');

    /// <param name="test">For test emails and previews: the page shows what the customer would see and changes nothing.</param>
    public string Unsubscribe(long customerId, bool test = false) => $"{Base}/u/{tokens.Create(LinkPurpose.Unsubscribe, customerId, test: test)}";
    public string Preferences(long customerId, bool test = false) => $"{Base}/p/{tokens.Create(LinkPurpose.Preferences, customerId, test: test)}";
    /// <summary>A double opt-in link: bound to the pending sign-up (its id in the token's id field), valid until it expires.</summary>
    public string Confirm(long signupId, DateTime expiresAt) => $"{Base}/confirm/{tokens.Create(LinkPurpose.Confirm, signupId, expiresAt)}";
    /// <summary>A referral link: the code is the key (not signed: it is meant to be passed on); the campaign that carried it, if any.</summary>
    /// <param name="test">A preview of the landing page: no visit recorded, no cookie set (the code is public anyway).</param>
    public string Referral(string code, long? campaignId = null, bool test = false) =>
        $"{Base}/r/{code}" + (test ? "?test=1" : campaignId is { } id ? $"?c={id}" : "");
    public string Click(long customerId, string target, bool test = false) => $"{Base}/c/{tokens.Create(LinkPurpose.Click, customerId, target: target, test: test)}";
}
