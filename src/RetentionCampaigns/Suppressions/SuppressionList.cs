using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Suppressions;

public static class SuppressionReasons
{
    public const string HardBounce = "hard_bounce", Complaint = "complaint", Manual = "manual", Erased = "erased";
}

/// <summary>An address never to mail again, kept only as a salted hash (see migration 0009).</summary>
public sealed class Suppression
{
    public required string AddressHash { get; set; }
    public required string Reason { get; set; }
    public required string Source { get; set; }
    public string? Detail { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class SuppressionSalt
{
    public int Id { get; set; }
    public required byte[] Salt { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// Hashes addresses with the installation's salt (HMAC-SHA256 of the normalised address), adds suppressions and
/// answers which of a set of addresses are suppressed. One per process; the salt is read (or created) once.
/// </summary>
public sealed class SuppressionList(byte[] salt)
{
    /// <summary>The form two spellings of one mailbox share: trimmed, domain in A-labels, all lower case.</summary>
    public static string Normalize(string address)
    {
        var trimmed = address.Trim();
        return EmailAddress.TryParse(trimmed, null, out var parsed, out _) ? parsed!.Address.ToLowerInvariant() : trimmed.ToLowerInvariant();
    }

    public string Hash(string address) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(Normalize(address))));

    /// <summary>Whether the address, however written, is on the list.</summary>
    public Task<bool> ContainsAsync(RetentionDb db, string address, CancellationToken ct)
    {
        var hash = Hash(address);
        return db.Suppressions.AnyAsync(s => s.AddressHash == hash, ct);
    }

    /// <summary>
    /// Adds the address unless it is already listed: the first reason stays, except that an erasure replaces any
    /// other (an erased person's entry can never be removed by hand). Runs in the context's transaction if any.
    /// </summary>
    public async Task AddAsync(RetentionDb db, string address, string reason, string source, string? detail, DateTime now, CancellationToken ct)
    {
        var sql = "INSERT INTO suppressions (address_hash, reason, source, detail, created_at) VALUES (@hash, @reason, @source, @detail, @now) ON CONFLICT (address_hash) " +
                  (reason == SuppressionReasons.Erased ? "DO UPDATE SET reason = excluded.reason, source = excluded.source, detail = excluded.detail" : "DO NOTHING");
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await db.Database.GetDbConnection().ExecuteAsync(sql, db.Database.CurrentTransaction?.GetDbTransaction(),
                [("@hash", Hash(address)), ("@reason", reason), ("@source", source), ("@detail", detail), ("@now", now)], ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The installation's salt from the database, created on first use (concurrent first starts agree on one).</summary>
    public static async Task<SuppressionList> LoadAsync(RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var stored = await db.SuppressionSalts.AsNoTracking().FirstOrDefaultAsync(s => s.Id == 1, ct);
        if (stored is null)
        {
            var insert = "INSERT INTO suppression_salt (id, salt, created_at) VALUES (1, {0}, {1}) ON CONFLICT (id) DO NOTHING";
            await db.Database.ExecuteSqlRawAsync(insert, [RandomNumberGenerator.GetBytes(32), clock.GetUtcNow().UtcDateTime], ct);
            stored = await db.SuppressionSalts.AsNoTracking().FirstAsync(s => s.Id == 1, ct);
        }
        return new SuppressionList(stored.Salt);
    }
}
