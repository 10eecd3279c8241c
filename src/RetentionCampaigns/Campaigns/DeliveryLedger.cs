using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Campaigns;

/// <summary>A claimed ledger row: who, and how often a send was tried already (for the retry backoff).</summary>
public sealed record ClaimedDelivery(long CustomerId, int Attempts);

/// <summary>What became of one claimed delivery. Pending (a retry) and deferred give the row back to the pool.</summary>
public sealed record DeliveryOutcome(long CustomerId, string Status, string? Reason, string? MessageId = null, string? Reply = null,
    DateTime? NotBefore = null, bool Attempted = false);

/// <summary>
/// The send job's writes to the delivery ledger, each one statement for a whole batch or chunk (a statement per
/// message would cap sending at the database's commit rate). Every write is fenced by the job's claim, so a job
/// whose rows were taken over can no longer change them.
/// </summary>
public sealed class DeliveryLedger(RetentionDb db, TimeProvider clock)
{
    DbConnection Connection => db.Database.GetDbConnection();

    /// <summary>Where this job's last claim ended, per run (the ledger lives as long as one send job).</summary>
    readonly Dictionary<long, long> claimedUpTo = [];

    /// <summary>
    /// Claims up to <paramref name="limit"/> due rows; on PostgreSQL other nodes skip the locked ones. Each claim goes
    /// on from where this job's last one ended, and only when nothing is left after it starts again from the front
    /// (for rows given back or due again): PostgreSQL keeps the index entries of claimed rows until a vacuum, so a
    /// claim from the front had to step over every row claimed so far, which made a run quadratic (29 ms a claim
    /// on average over a run of 100,000, 148 µs a message).
    /// </summary>
    public async Task<List<ClaimedDelivery>> ClaimAsync(long runId, string me, int limit, CancellationToken ct)
    {
        var after = claimedUpTo.GetValueOrDefault(runId);
        var claimed = await ClaimAfterAsync(runId, me, after, limit, ct);
        if (claimed.Count > 0) claimedUpTo[runId] = claimed[^1].CustomerId;
        if (claimed.Count < limit && after > 0)
        {
            var fromFront = await ClaimAfterAsync(runId, me, 0, limit - claimed.Count, ct);
            if (fromFront.Count > 0) claimedUpTo[runId] = fromFront[^1].CustomerId;
            claimed.AddRange(fromFront);
        }
        return claimed;
    }

    async Task<List<ClaimedDelivery>> ClaimAfterAsync(long runId, string me, long after, int limit, CancellationToken ct)
    {
        // PostgreSQL: the rows to claim are locked by an InitPlan (ARRAY(...)), run exactly once, and then updated by
        // their keys. As the subquery of a join, its locking and LIMIT were the plan's to repeat: with statistics that
        // had not seen the run yet (one row estimated), the planner rescanned it for each of the run's rows, each rescan
        // locking the next 200, so one claim took the whole run (all 500 rows in the test; in the campaign benchmark one
        // claim was still at it after 8 minutes, holding up every other job's marks).
        // "customer_id IN (subquery)" is no better: a subquery that locks rows is not hashed, it is rerun per row.
        var next = $"""
            SELECT customer_id AS cid FROM deliveries
            WHERE run_id = @run AND customer_id > @after AND status IN ('pending', 'deferred') AND (not_before IS NULL OR not_before <= @now)
            ORDER BY customer_id LIMIT {limit}
            """;
        var sql = db.IsPostgres
            ? $"""
              UPDATE deliveries SET status = 'claimed', claimed_by = @me, updated_at = @now
              WHERE run_id = @run AND customer_id = ANY (ARRAY({next} FOR UPDATE SKIP LOCKED))
              RETURNING customer_id, attempts
              """
            : $"""
              UPDATE deliveries SET status = 'claimed', claimed_by = @me, updated_at = @now
              FROM ({next}) AS next
              WHERE run_id = @run AND customer_id = next.cid
              RETURNING customer_id, attempts
              """;
        await using var tx = await RelaxedAsync(ct);
        var claimed = new List<ClaimedDelivery>(limit);
        await using (var command = Connection.Command(Relaxed(sql), tx, [("@me", me), ("@now", Now), ("@run", runId), ("@after", after)]))
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) claimed.Add(new ClaimedDelivery(reader.GetInt64(0), reader.GetInt32(1)));
        if (tx is not null) await tx.CommitAsync(ct);
        // RETURNING gives no order; the cursor needs the highest.
        claimed.Sort((a, b) => a.CustomerId.CompareTo(b.CustomerId));
        return claimed;
    }

    /// <summary>
    /// Writes the previous chunk's outcomes and marks the next chunk "sending", in one round trip. The mark is what
    /// makes a crash from here on show as "in doubt" rather than as a message to send again; it re-checks marketing
    /// consent and the suppression list in the same statement, so a withdrawal or suppression committed by now stops
    /// the message. Returns the customers marked. The statement commits durably (the mark must survive a database
    /// crash before the message goes out).
    /// </summary>
    public async Task<HashSet<long>> WriteAndMarkSendingAsync(long runId, string me, IReadOnlyList<DeliveryOutcome> previous,
        IReadOnlyList<(long CustomerId, string AddressHash)> chunk, CancellationToken ct)
    {
        if (chunk.Count == 0)
        {
            await WriteAsync(runId, me, previous, ct);
            return [];
        }
        var values = new StringBuilder();
        var parameters = new List<(string, object?)> { ("@me", me), ("@now", Now), ("@run", runId) };
        for (var i = 0; i < chunk.Count; i++)
        {
            values.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@c{i}, @h{i})");
            parameters.Add(($"@c{i}", chunk[i].CustomerId));
            parameters.Add(($"@h{i}", chunk[i].AddressHash));
        }
        var write = previous.Count is > 0 and <= 500 ? OutcomeSql(previous, parameters) + ";\n" : "";
        if (previous.Count > 500) await WriteAsync(runId, me, previous, ct);
        var sql = $"""
            {write}WITH chunk (cid, address_hash) AS (VALUES {values})
            UPDATE deliveries SET status = 'sending', updated_at = @now
            FROM chunk
            WHERE run_id = @run AND customer_id = cid AND status = 'claimed' AND claimed_by = @me
              AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.address_hash = chunk.address_hash)
              AND (SELECT CASE WHEN e.status = 'granted' AND NOT e.objection THEN 1 ELSE 0 END FROM consent_events e
                   WHERE e.customer_id = cid AND e.purpose = 'email_marketing' ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) = 1
            RETURNING customer_id
            """;
        await using var command = Connection.Command(sql, parameters: parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var marked = new HashSet<long>();
        while (await reader.ReadAsync(ct)) marked.Add(reader.GetInt64(0));
        return marked;
    }

    /// <summary>Writes the outcomes of claimed rows, a statement per 500.</summary>
    public async Task WriteAsync(long runId, string me, IReadOnlyList<DeliveryOutcome> outcomes, CancellationToken ct)
    {
        // Bounded statements: SQLite allows at most 32,766 parameters, and huge statements plan slowly.
        foreach (var part in outcomes.Chunk(500))
        {
            var parameters = new List<(string, object?)> { ("@me", me), ("@now", Now), ("@run", runId) };
            var sql = OutcomeSql(part, parameters);
            await using var tx = await RelaxedAsync(ct);
            await using (var command = Connection.Command(Relaxed(sql), tx, parameters)) await command.ExecuteNonQueryAsync(ct);
            if (tx is not null) await tx.CommitAsync(ct);
        }
    }

    /// <summary>One UPDATE of outcomes; its parameters (named @oN_x, so it can share a command with the mark) are added to <paramref name="parameters"/>.</summary>
    string OutcomeSql(IReadOnlyList<DeliveryOutcome> outcomes, List<(string, object?)> parameters)
    {
        var values = new StringBuilder();
        var timestamp = db.IsPostgres ? "timestamptz" : "TEXT";
        for (var i = 0; i < outcomes.Count; i++)
        {
            var o = outcomes[i];
            var p = $"@o{i}_";
            values.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"({p}c, {p}s, {p}r, {p}m, {p}p, CAST({p}n AS {timestamp}), {p}a)");
            parameters.AddRange([($"{p}c", o.CustomerId), ($"{p}s", o.Status), ($"{p}r", o.Reason), ($"{p}m", o.MessageId),
                ($"{p}p", o.Reply), ($"{p}n", o.NotBefore), ($"{p}a", o.Attempted ? 1 : 0)]);
        }
        return $"""
            WITH outcome (cid, o_status, o_reason, o_message_id, o_reply, o_not_before, o_attempted) AS (VALUES {values})
            UPDATE deliveries SET status = o_status, reason = o_reason, message_id = COALESCE(o_message_id, message_id),
                reply = COALESCE(o_reply, reply), not_before = o_not_before, attempts = attempts + o_attempted,
                claimed_by = CASE WHEN o_status IN ('pending', 'deferred') THEN NULL ELSE claimed_by END, updated_at = @now
            FROM outcome
            WHERE run_id = @run AND customer_id = cid AND claimed_by = @me
            """;
    }

    /// <summary>Gives back the rows this job claimed but did not get to (paused, cancelled, shutting down).</summary>
    public async Task ReleaseClaimsAsync(long runId, string me, CancellationToken ct)
    {
        await using var command = Connection.Command(
            "UPDATE deliveries SET status = 'pending', claimed_by = NULL, updated_at = @now WHERE run_id = @run AND claimed_by = @me AND status = 'claimed'",
            parameters: [("@now", Now), ("@run", runId), ("@me", me)]);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Rows held by a send job whose lease went stale (<see cref="SendLeases"/>): claimed ones go back, sending ones are in doubt.</summary>
    public async Task ReleaseOrphansAsync(long runId, CancellationToken ct)
    {
        await using var command = Connection.Command($"""
            UPDATE deliveries SET status = 'pending', claimed_by = NULL, updated_at = @now
            WHERE run_id = @run AND status = 'claimed' AND claimed_by NOT IN ({SendLeases.AliveSql});
            UPDATE deliveries SET status = 'in_doubt', reason = 'the node sending it stopped before the server''s reply was recorded', updated_at = @now
            WHERE run_id = @run AND status = 'sending' AND claimed_by NOT IN ({SendLeases.AliveSql});
            DELETE FROM send_leases WHERE renewed_at < @stale;
            """, parameters: [("@now", Now), ("@run", runId), ("@stale", Now - SendLeases.StaleAfter)]);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// On PostgreSQL, a transaction that commits without waiting for its WAL flush. Right for every ledger write except
    /// the "sending" mark: if the database itself crashed and lost such a write, a claim or skip would simply be
    /// redone, and a lost outcome leaves the row "sending", which becomes "in doubt", never a second message. The mark
    /// must be durable before the message goes out, so it commits normally. (Waiting for a flush per write was most
    /// of the time per message.)
    /// </summary>
    async Task<DbTransaction?> RelaxedAsync(CancellationToken ct) => db.IsPostgres ? await Connection.BeginTransactionAsync(ct) : null;

    /// <summary>The statement preceded by the setting, in one round trip (inside <see cref="RelaxedAsync"/>'s transaction).</summary>
    string Relaxed(string sql) => db.IsPostgres ? "SET LOCAL synchronous_commit TO off;\n" + sql : sql;

    DateTime Now => clock.GetUtcNow().UtcDateTime;
}
