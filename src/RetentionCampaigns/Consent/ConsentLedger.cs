using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Consent;

/// <summary>Where the request that changed a consent came from (recorded with the event).</summary>
public sealed record ConsentWitness(string Source, string? IpAddress, string? UserAgent, string? ConsentTextVersion = null)
{
    public static ConsentWitness From(HttpContext http, string source, string? consentTextVersion = null) =>
        new(source, http.Connection.RemoteIpAddress?.ToString(), Truncate(http.Request.Headers.UserAgent.ToString(), 512), consentTextVersion);

    static string? Truncate(string value, int length) => value.Length == 0 ? null : value.Length <= length ? value : value[..length];
}

/// <summary>
/// Changes of consent made by customers themselves (unsubscribe link, preference centre, double opt-in), each one
/// conditional statement: it appends an event only when the purpose's current state differs, so a repeated click
/// or a mailbox provider posting the same one-click unsubscribe twice records it once.
/// </summary>
public static class ConsentLedger
{
    /// <summary>
    /// Withdraws a purpose. A withdrawal of marketing email sent on the existing-customer basis is an objection
    /// (UWG section 7(3) allows such email only until the customer objects). Recorded: whether an event was
    /// appended; Locale: the customer's language, null when there is no such customer.
    /// </summary>
    public static Task<(bool Recorded, string? Locale)> WithdrawAsync(RetentionDb db, long customerId, string purpose, ConsentWitness witness, DateTime now, CancellationToken ct) =>
        AppendAsync(db, customerId, purpose, "withdrawn",
            "COALESCE(latest.lawful_basis, 'consent')", "COALESCE(latest.lawful_basis, '') = 'existing_customer'", witness, now, ct);

    /// <summary>Grants a purpose by the customer's own consent (confirmed by their using a link sent to their address).</summary>
    public static Task<(bool Recorded, string? Locale)> GrantAsync(RetentionDb db, long customerId, string purpose, ConsentWitness witness, DateTime now, CancellationToken ct) =>
        AppendAsync(db, customerId, purpose, "granted", "'consent'", db.IsPostgres ? "false" : "0", witness, now, ct);

    static async Task<(bool Recorded, string? Locale)> AppendAsync(RetentionDb db, long customerId, string purpose, string status, string basisSql,
        string objectionSql, ConsentWitness witness, DateTime now, CancellationToken ct)
    {
        var insert = "INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, ip_address, user_agent, consent_text_version, recorded_at) " +
                     $"SELECT c.id, @purpose, @status, {basisSql}, {objectionSql}, @source, @now, @ip, @agent, @version, @now FROM customers c " +
                     "LEFT JOIN (SELECT lawful_basis, status FROM consent_events WHERE customer_id = @customer AND purpose = @purpose " +
                     "ORDER BY occurred_at DESC, id DESC LIMIT 1) latest ON 1 = 1 " +
                     "WHERE c.id = @customer AND COALESCE(latest.status, 'none') <> @status ON CONFLICT DO NOTHING";
        // One round trip that also reads the customer's language for the answer page (a busy public endpoint).
        var sql = db.IsPostgres
            ? $"WITH added AS ({insert} RETURNING 1) SELECT c.locale, (SELECT count(*) FROM added) FROM customers c WHERE c.id = @customer"
            : $"{insert}; SELECT c.locale, changes() FROM customers c WHERE c.id = @customer";
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            // Inside the caller's transaction when there is one (a complaint suppresses and withdraws together).
            await using var command = db.Database.GetDbConnection().Command(sql, db.Database.CurrentTransaction?.GetDbTransaction(), [("@customer", customerId), ("@purpose", purpose), ("@status", status),
                ("@source", witness.Source), ("@now", now), ("@ip", witness.IpAddress), ("@agent", witness.UserAgent), ("@version", witness.ConsentTextVersion)]);
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await reader.ReadAsync(ct) ? (reader.GetInt64(1) == 1, reader.GetString(0)) : (false, null);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
