using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Users;

/// <summary>A person who signs in to the marketer UI.</summary>
public sealed class User
{
    public long Id { get; set; }
    /// <summary>Stored in lower case: one account per mailbox however it is typed.</summary>
    public required string Email { get; set; }
    public required string Role { get; set; }
    public required string PasswordHash { get; set; }
    /// <summary>The UI's language; the browser's when not chosen.</summary>
    public string? Locale { get; set; }
    public DateTime? DisabledAt { get; set; }
    public DateTime PasswordChangedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public static class UserRoles
{
    /// <summary>Everything, including users and API keys.</summary>
    public const string Admin = "admin";
    /// <summary>Segments, templates and campaigns; no user administration.</summary>
    public const string Marketer = "marketer";
    /// <summary>Reads everything, changes nothing.</summary>
    public const string Analyst = "analyst";

    public static readonly string[] All = [Admin, Marketer, Analyst];

    /// <summary>The roles that change things (segments, imports, the metrics refresh); analysts only read.</summary>
    public static readonly string[] Changing = [Admin, Marketer];

    public static bool MayChange(System.Security.Claims.ClaimsPrincipal user) => Changing.Any(user.IsInRole);
}

/// <summary>
/// Accounts: created with a generated password that is shown once, passwords hashed with the framework's
/// <see cref="PasswordHasher{TUser}"/> (PBKDF2, rehashed when its parameters grow), checked in constant time.
/// </summary>
public sealed class UserAccounts(RetentionDb db, TimeProvider clock)
{
    static readonly PasswordHasher<User> Hasher = new();

    public sealed class Refused(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
    }

    /// <summary>Creates an account and returns its generated password (shown once, never stored).</summary>
    public async Task<(User User, string Password)> CreateAsync(string? email, string? role, CancellationToken ct)
    {
        var address = Normalize(email);
        if (role is null || !UserRoles.All.Contains(role))
            throw new Refused("role", $"must be one of: {string.Join(", ", UserRoles.All)}.");
        if (await db.Users.AnyAsync(u => u.Email == address, ct)) throw new Refused("email", $"an account for {address} exists already; reset its password instead.");
        var now = clock.GetUtcNow().UtcDateTime;
        var password = GeneratePassword();
        var user = new User { Email = address, Role = role, PasswordHash = "", PasswordChangedAt = now, CreatedAt = now, UpdatedAt = now };
        user.PasswordHash = Hasher.HashPassword(user, password);
        db.Users.Add(user);
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // Created by someone else at the same moment: the unique index decided.
            throw new Refused("email", $"an account for {address} exists already; reset its password instead.");
        }
        return (user, password);
    }

    public const string DemoAdmin = "demo@example.com";

    /// <summary>The demo shop's admin sign-in, with a fresh password on every start (only the hash is kept).</summary>
    public async Task<string> DemoAdminPasswordAsync(CancellationToken ct) =>
        await db.Users.AnyAsync(u => u.Email == DemoAdmin, ct) ? await ResetPasswordAsync(DemoAdmin, ct) : (await CreateAsync(DemoAdmin, UserRoles.Admin, ct)).Password;

    /// <summary>Gives the account a new generated password (shown once).</summary>
    public async Task<string> ResetPasswordAsync(string? email, CancellationToken ct)
    {
        var address = Normalize(email);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == address, ct) ?? throw new Refused("email", $"no account has the address {address}.");
        var password = GeneratePassword();
        var now = clock.GetUtcNow().UtcDateTime;
        (user.PasswordHash, user.PasswordChangedAt, user.UpdatedAt) = (Hasher.HashPassword(user, password), now, now);
        await db.SaveChangesAsync(ct);
        return password;
    }

    public const int MinPasswordLength = 12;

    /// <summary>A person's own new password, after their current one; null when done, else the field and what is wrong.</summary>
    public async Task<(string Field, string Message)?> ChangePasswordAsync(long userId, string? current, string? chosen, CancellationToken ct)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId && u.DisabledAt == null, ct);
        if (user is null || string.IsNullOrEmpty(current) || Hasher.VerifyHashedPassword(user, user.PasswordHash, current) == PasswordVerificationResult.Failed)
            return ("Current", "This is not your current password.");
        // The messages are the UI's text keys; {0} is the minimum length.
        if (chosen is null || chosen.Length < MinPasswordLength) return ("New", "Choose at least {0} characters.");
        if (chosen == current) return ("New", "Choose a password other than the current one.");
        var now = clock.GetUtcNow().UtcDateTime;
        (user.PasswordHash, user.PasswordChangedAt, user.UpdatedAt) = (Hasher.HashPassword(user, chosen), now, now);
        await db.SaveChangesAsync(ct);
        return null;
    }

    public Task<List<User>> ListAsync(CancellationToken ct) => db.Users.AsNoTracking().OrderBy(u => u.Email).ToListAsync(ct);

    /// <summary>Disables or enables an account; a disabled one cannot sign in. An admin cannot disable their own account.</summary>
    public async Task<bool> SetDisabledAsync(long userId, bool disabled, long actingUserId, CancellationToken ct)
    {
        if (disabled && userId == actingUserId) return false;
        var now = clock.GetUtcNow().UtcDateTime;
        return await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(u => u
            .SetProperty(x => x.DisabledAt, disabled ? now : null).SetProperty(x => x.UpdatedAt, now), ct) == 1;
    }

    /// <summary>The UI's language for this person: de, en, or null for the browser's.</summary>
    public async Task<User?> SetLocaleAsync(long userId, string? locale, CancellationToken ct)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId && u.DisabledAt == null, ct);
        if (user is null) return null;
        (user.Locale, user.UpdatedAt) = (locale is "de" or "en" ? locale : null, clock.GetUtcNow().UtcDateTime);
        await db.SaveChangesAsync(ct);
        return user;
    }

    /// <summary>The active account with this address and password, or null (unknown, wrong password or disabled alike).</summary>
    public async Task<User?> VerifyAsync(string? email, string? password, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(email) || string.IsNullOrEmpty(password)) return null;
        var address = email.Trim().ToLowerInvariant();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == address, ct);
        if (user is null)
        {
            // The same work as for a real account, so the answer's timing does not tell which addresses exist.
            Hasher.VerifyHashedPassword(new User { Email = "", Role = "", PasswordHash = "" }, DummyHash, password);
            return null;
        }
        var result = Hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (result == PasswordVerificationResult.Failed || user.DisabledAt is not null) return null;
        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = Hasher.HashPassword(user, password);
            await db.SaveChangesAsync(ct);
        }
        return user;
    }

    static readonly string DummyHash = Hasher.HashPassword(new User { Email = "", Role = "", PasswordHash = "" }, "not a password of anyone");

    static string Normalize(string? email)
    {
        var address = email?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(address) || address.Length > 254 || !FieldRules.IsEmail(address)) throw new Refused("email", "is not a valid email address.");
        return address;
    }

    /// <summary>Four groups of five from an alphabet without look-alikes (about 99 bits): easy to type, hard to guess.</summary>
    static string GeneratePassword()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        return string.Join('-', Enumerable.Range(0, 4).Select(_ => new string(Enumerable.Range(0, 5).Select(_ => alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]).ToArray())));
    }
}
