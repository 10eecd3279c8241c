using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// Which send jobs are alive. A job holds a lease while it works and renews it every few seconds; ledger rows held by
/// a job whose lease went stale (its node died, or was cut off from the database) are given back by the next job to
/// start. Our own table rather than the scheduler's: the rule is the same on both stores and for any scheduler.
/// </summary>
public static class SendLeases
{
    /// <summary>A lease not renewed for this long belongs to a dead job.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(2);

    public static async Task TakeAsync(RetentionDb db, string holder, DateTime now, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().Command(
            "INSERT INTO send_leases (holder, node, renewed_at) VALUES (@holder, @node, @now)",
            parameters: [("@holder", holder), ("@node", $"{Environment.MachineName}:{Environment.ProcessId}"), ("@now", now)]);
        await command.ExecuteNonQueryAsync(ct);
    }

    public static async Task RenewAsync(RetentionDb db, string holder, DateTime now, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().Command("UPDATE send_leases SET renewed_at = @now WHERE holder = @holder",
            parameters: [("@holder", holder), ("@now", now)]);
        await command.ExecuteNonQueryAsync(ct);
    }

    public static async Task ReturnAsync(RetentionDb db, string holder, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().Command("DELETE FROM send_leases WHERE holder = @holder", parameters: [("@holder", holder)]);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The SQL for the live holders, with <c>@stale</c> the moment before which a lease is dead.</summary>
    public const string AliveSql = "SELECT holder FROM send_leases WHERE renewed_at >= @stale";

    /// <summary>The single SQLite node at start: every lease left belongs to a process that is gone.</summary>
    public static async Task ForgetAllAsync(RetentionDb db, CancellationToken ct)
    {
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = db.Database.GetDbConnection().Command("DELETE FROM send_leases");
            await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
