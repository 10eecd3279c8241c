using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Imports;

/// <summary>
/// Stages a chunk into temporary tables and merges it into the real ones with set-based SQL, one transaction per
/// chunk. Only staging differs by provider (binary COPY on PostgreSQL, a prepared INSERT on SQLite); the merge
/// SQL is shared, since both understand UPDATE ... FROM, IS DISTINCT FROM and ON CONFLICT.
/// </summary>
public sealed class ImportStore : IAsyncDisposable
{
    readonly RetentionDb db;
    readonly DbConnection connection;
    readonly bool postgres;
    readonly ShopOptions shop;
    readonly DateTime now;

    ImportStore(RetentionDb db, bool postgres, ShopOptions shop, DateTime now) =>
        (this.db, connection, this.postgres, this.shop, this.now) = (db, db.Database.GetDbConnection(), postgres, shop, now);

    public static async Task<ImportStore> OpenAsync(RetentionDb db, ShopOptions shop, DateTime now, CancellationToken ct)
    {
        // Opened through EF, not on the raw connection: the context is pooled, and EF closes what it opened when the
        // context goes back to the pool; a raw open left behind by a failure made the next lessee's open throw
        // "Connection already open" (seen as an import that stopped on line 1).
        await db.Database.OpenConnectionAsync(ct);
        var store = new ImportStore(db, db.IsPostgres, shop, now);
        var (text, integer, time) = store.postgres ? ("text", "bigint", "timestamptz") : ("TEXT", "INTEGER", "TEXT");
        await store.ExecuteAsync(null, $"""
            CREATE TEMP TABLE stage_customers (line {integer}, external_id {text}, email {text}, first_name {text}, last_name {text},
                locale {text}, time_zone {text}, country {text}, signed_up_at {time}, tags {text}, attributes {text});
            CREATE TEMP TABLE stage_orders (line {integer}, external_id {text}, customer_external_id {text}, ordered_at {time},
                amount_minor {integer}, refunded_minor {integer}, currency {text}, payment_fingerprint {text});
            CREATE TEMP TABLE stage_lines (order_external_id {text}, sku {text}, product_name {text}, category {text},
                quantity {integer}, unit_price_minor {integer});
            CREATE INDEX ix_stage_orders_external_id ON stage_orders (external_id);
            """, ct);
        return store;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ExecuteAsync(null, "DROP TABLE IF EXISTS stage_customers; DROP TABLE IF EXISTS stage_orders; DROP TABLE IF EXISTS stage_lines;", CancellationToken.None);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public async Task<MergeResult> MergeCustomersAsync(Chunk chunk, CancellationToken ct)
    {
        await using var tx = await BeginChunkAsync(ct);
        await ExecuteAsync(tx, postgres ? "TRUNCATE stage_customers" : "DELETE FROM stage_customers", ct);
        if (postgres) await CopyCustomersAsync(chunk, ct);
        else await InsertCustomersAsync(tx, chunk, ct);

        // Empty cells keep the stored value, as a left-out field does in the API.
        var updated = await ExecuteAsync(tx, """
            UPDATE customers SET
                email = s.email,
                first_name = COALESCE(s.first_name, customers.first_name),
                last_name = COALESCE(s.last_name, customers.last_name),
                locale = COALESCE(s.locale, customers.locale),
                time_zone = COALESCE(s.time_zone, customers.time_zone),
                country = COALESCE(s.country, customers.country),
                signed_up_at = COALESCE(s.signed_up_at, customers.signed_up_at),
                tags = COALESCE(s.tags, customers.tags),
                attributes = COALESCE(s.attributes, customers.attributes),
                updated_at = @now
            FROM stage_customers AS s
            WHERE customers.external_id = s.external_id AND (
                customers.email IS DISTINCT FROM s.email
                OR customers.first_name IS DISTINCT FROM COALESCE(s.first_name, customers.first_name)
                OR customers.last_name IS DISTINCT FROM COALESCE(s.last_name, customers.last_name)
                OR customers.locale IS DISTINCT FROM COALESCE(s.locale, customers.locale)
                OR customers.time_zone IS DISTINCT FROM COALESCE(s.time_zone, customers.time_zone)
                OR customers.country IS DISTINCT FROM COALESCE(s.country, customers.country)
                OR customers.signed_up_at IS DISTINCT FROM COALESCE(s.signed_up_at, customers.signed_up_at)
                OR customers.tags IS DISTINCT FROM COALESCE(s.tags, customers.tags)
                OR customers.attributes IS DISTINCT FROM COALESCE(s.attributes, customers.attributes))
            """, ct);
        var created = await ExecuteAsync(tx, """
            INSERT INTO customers (external_id, email, first_name, last_name, locale, time_zone, country, signed_up_at, tags,
                attributes, created_at, updated_at)
            SELECT s.external_id, s.email, s.first_name, s.last_name, COALESCE(s.locale, @locale), COALESCE(s.time_zone, @zone),
                s.country, s.signed_up_at, COALESCE(s.tags, '[]'), COALESCE(s.attributes, '{}'), @now, @now
            FROM stage_customers AS s
            WHERE NOT EXISTS (SELECT 1 FROM customers AS c WHERE c.external_id = s.external_id)
            ON CONFLICT (external_id) DO NOTHING
            """, ct);
        await tx.CommitAsync(ct);
        return new MergeResult(created, updated, chunk.Customers.Count - created - updated, []);
    }

    public async Task<MergeResult> MergeOrdersAsync(Chunk chunk, CancellationToken ct)
    {
        await using var tx = await BeginChunkAsync(ct);
        await ExecuteAsync(tx, postgres ? "TRUNCATE stage_orders, stage_lines" : "DELETE FROM stage_orders; DELETE FROM stage_lines;", ct);
        if (postgres) await CopyOrdersAsync(chunk, ct);
        else await InsertOrdersAsync(tx, chunk, ct);

        // Orders of unknown customers are reported and taken out of the chunk, so the order lines need not look
        // each line's customer up again to leave them out.
        var unknownLines = new List<long>();
        await using (var unknown = Command(tx, """
            DELETE FROM stage_orders
            WHERE NOT EXISTS (SELECT 1 FROM customers AS c WHERE c.external_id = stage_orders.customer_external_id)
            RETURNING line
            """))
        await using (var reader = await unknown.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) unknownLines.Add(reader.GetInt64(0));

        var (created, updated) = postgres ? await UpsertOrdersAsync(tx, ct) : await UpdateThenInsertOrdersAsync(tx, ct);
        await ExecuteAsync(tx, """
            INSERT INTO order_lines (order_id, sku, product_name, category, quantity, unit_price_minor)
            SELECT o.id, l.sku, l.product_name, l.category, l.quantity, l.unit_price_minor
            FROM stage_lines AS l
            JOIN stage_orders AS s ON s.external_id = l.order_external_id
            JOIN orders AS o ON o.external_id = l.order_external_id
            WHERE true
            ON CONFLICT (order_id, sku) DO UPDATE SET product_name = excluded.product_name, category = excluded.category,
                quantity = excluded.quantity, unit_price_minor = excluded.unit_price_minor
            WHERE order_lines.product_name IS DISTINCT FROM excluded.product_name
                OR order_lines.category IS DISTINCT FROM excluded.category
                OR order_lines.quantity <> excluded.quantity
                OR order_lines.unit_price_minor IS DISTINCT FROM excluded.unit_price_minor
            """, ct);
        await tx.CommitAsync(ct);
        var merged = chunk.Orders.Count - unknownLines.Count;
        return new MergeResult(created, updated, merged - created - updated, unknownLines);
    }

    /// <summary>Whether a stored order differs from the staged one (<paramref name="x"/>); the same test on both stores.</summary>
    string OrderChanged(string x) => $"""
        orders.customer_id <> {x}.customer_id OR orders.ordered_at <> {x}.ordered_at OR orders.amount_minor <> {x}.amount_minor
            OR orders.refunded_minor <> {x}.refunded_minor OR orders.currency <> {x}.currency
            OR ({x}.payment_fingerprint IS NOT NULL AND orders.payment_fingerprint {(postgres ? "IS DISTINCT FROM" : "IS NOT")} {x}.payment_fingerprint)
        """;

    /// <summary>
    /// PostgreSQL: one INSERT ... ON CONFLICT DO UPDATE of the changed orders, the way PostgreSQL's own upsert goes (the
    /// ingest benchmark's floor); a row it inserted has no xmax, one it updated has. An update pass followed by an
    /// insert of the rest (as on SQLite) looked every staged order up twice more.
    /// </summary>
    async Task<(int Created, int Updated)> UpsertOrdersAsync(DbTransaction tx, CancellationToken ct)
    {
        // A fingerprint once given stays when a later import leaves it out.
        await using var command = Command(tx, $"""
            INSERT INTO orders (external_id, customer_id, ordered_at, amount_minor, refunded_minor, currency, payment_fingerprint, created_at, updated_at)
            SELECT s.external_id, c.id, s.ordered_at, s.amount_minor, s.refunded_minor, s.currency, s.payment_fingerprint, @now, @now
            FROM stage_orders AS s JOIN customers AS c ON c.external_id = s.customer_external_id
            ON CONFLICT (external_id) DO UPDATE SET customer_id = excluded.customer_id, ordered_at = excluded.ordered_at,
                amount_minor = excluded.amount_minor, refunded_minor = excluded.refunded_minor, currency = excluded.currency,
                payment_fingerprint = COALESCE(excluded.payment_fingerprint, orders.payment_fingerprint), updated_at = excluded.updated_at
            WHERE {OrderChanged("excluded")}
            RETURNING xmax = 0
            """);
        var (created, updated) = (0, 0);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            if (reader.GetBoolean(0)) created++;
            else updated++;
        return (created, updated);
    }

    /// <summary>SQLite: the changed orders updated, then the new ones inserted.</summary>
    async Task<(int Created, int Updated)> UpdateThenInsertOrdersAsync(DbTransaction tx, CancellationToken ct)
    {
        var updated = await ExecuteAsync(tx, $"""
            UPDATE orders SET customer_id = x.customer_id, ordered_at = x.ordered_at, amount_minor = x.amount_minor,
                refunded_minor = x.refunded_minor, currency = x.currency,
                payment_fingerprint = COALESCE(x.payment_fingerprint, orders.payment_fingerprint), updated_at = @now
            FROM (SELECT s.external_id, c.id AS customer_id, s.ordered_at, s.amount_minor, s.refunded_minor, s.currency, s.payment_fingerprint
                  FROM stage_orders AS s JOIN customers AS c ON c.external_id = s.customer_external_id) AS x
            WHERE orders.external_id = x.external_id AND ({OrderChanged("x")})
            """, ct);
        var created = await ExecuteAsync(tx, """
            INSERT INTO orders (external_id, customer_id, ordered_at, amount_minor, refunded_minor, currency, payment_fingerprint, created_at, updated_at)
            SELECT s.external_id, c.id, s.ordered_at, s.amount_minor, s.refunded_minor, s.currency, s.payment_fingerprint, @now, @now
            FROM stage_orders AS s JOIN customers AS c ON c.external_id = s.customer_external_id
            WHERE NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.external_id = s.external_id)
            ON CONFLICT (external_id) DO NOTHING
            """, ct);
        return (created, updated);
    }

    /// <summary>
    /// A chunk commits without waiting for its WAL flush on PostgreSQL: a crash can lose only the last chunks,
    /// never corrupt them, and re-running the idempotent import restores them.
    /// </summary>
    async Task<DbTransaction> BeginChunkAsync(CancellationToken ct)
    {
        var tx = await connection.BeginTransactionAsync(ct);
        // Temporary tables have no statistics, so the planner would hash-join each chunk against all of orders
        // (a full scan per chunk: quadratic in the file). A chunk is small: index probes are the right plan.
        if (postgres) await ExecuteAsync(tx, "SET LOCAL synchronous_commit = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off", ct);
        return tx;
    }

    async Task CopyCustomersAsync(Chunk chunk, CancellationToken ct)
    {
        await using var copy = await ((NpgsqlConnection)connection).BeginBinaryImportAsync(
            "COPY stage_customers (line, external_id, email, first_name, last_name, locale, time_zone, country, signed_up_at, tags, attributes) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var (line, c, tags, attributes) in chunk.Customers)
        {
            await copy.StartRowAsync(ct);
            await copy.WriteAsync(line, NpgsqlDbType.Bigint, ct);
            await copy.WriteAsync(c.ExternalId, NpgsqlDbType.Text, ct);
            await copy.WriteAsync(c.Email, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(copy, c.FirstName, ct);
            await WriteNullableAsync(copy, c.LastName, ct);
            await WriteNullableAsync(copy, c.Locale, ct);
            await WriteNullableAsync(copy, c.TimeZone, ct);
            await WriteNullableAsync(copy, c.Country, ct);
            if (c.SignedUpAt is { } signedUp) await copy.WriteAsync(signedUp, NpgsqlDbType.TimestampTz, ct); else await copy.WriteNullAsync(ct);
            await WriteNullableAsync(copy, tags, ct);
            await WriteNullableAsync(copy, attributes, ct);
        }
        await copy.CompleteAsync(ct);
    }

    async Task CopyOrdersAsync(Chunk chunk, CancellationToken ct)
    {
        var npgsql = (NpgsqlConnection)connection;
        await using (var copy = await npgsql.BeginBinaryImportAsync(
            "COPY stage_orders (line, external_id, customer_external_id, ordered_at, amount_minor, refunded_minor, currency, payment_fingerprint) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var (line, o) in chunk.Orders)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(line, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(o.ExternalId, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(o.CustomerExternalId, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(o.OrderedAt, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(o.AmountMinor, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(o.RefundedMinor, NpgsqlDbType.Bigint, ct);
                await copy.WriteAsync(o.Currency, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(copy, o.PaymentFingerprint, ct);
            }
            await copy.CompleteAsync(ct);
        }
        await using (var copy = await npgsql.BeginBinaryImportAsync(
            "COPY stage_lines (order_external_id, sku, product_name, category, quantity, unit_price_minor) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var (orderId, l) in chunk.Lines)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(orderId, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(l.Sku, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(copy, l.ProductName, ct);
                await WriteNullableAsync(copy, l.Category, ct);
                await copy.WriteAsync((long)l.Quantity, NpgsqlDbType.Bigint, ct);
                if (l.UnitPriceMinor is { } price) await copy.WriteAsync(price, NpgsqlDbType.Bigint, ct); else await copy.WriteNullAsync(ct);
            }
            await copy.CompleteAsync(ct);
        }
    }

    static async Task WriteNullableAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken ct)
    {
        if (value is null) await copy.WriteNullAsync(ct);
        else await copy.WriteAsync(value, NpgsqlDbType.Text, ct);
    }

    async Task InsertCustomersAsync(DbTransaction tx, Chunk chunk, CancellationToken ct)
    {
        await using var insert = (SqliteCommand)Command(tx,
            "INSERT INTO stage_customers VALUES ($line, $id, $email, $first, $last, $locale, $zone, $country, $signedUp, $tags, $attributes)");
        var p = AddParameters(insert, "$line", "$id", "$email", "$first", "$last", "$locale", "$zone", "$country", "$signedUp", "$tags", "$attributes");
        foreach (var (line, c, tags, attributes) in chunk.Customers)
        {
            Set(p, line, c.ExternalId, c.Email, c.FirstName, c.LastName, c.Locale, c.TimeZone, c.Country, c.SignedUpAt, tags, attributes);
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    async Task InsertOrdersAsync(DbTransaction tx, Chunk chunk, CancellationToken ct)
    {
        await using (var insert = (SqliteCommand)Command(tx, "INSERT INTO stage_orders VALUES ($line, $id, $customer, $at, $amount, $refunded, $currency, $fingerprint)"))
        {
            var p = AddParameters(insert, "$line", "$id", "$customer", "$at", "$amount", "$refunded", "$currency", "$fingerprint");
            foreach (var (line, o) in chunk.Orders)
            {
                Set(p, line, o.ExternalId, o.CustomerExternalId, o.OrderedAt, o.AmountMinor, o.RefundedMinor, o.Currency, o.PaymentFingerprint);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        await using (var insert = (SqliteCommand)Command(tx, "INSERT INTO stage_lines VALUES ($order, $sku, $name, $category, $quantity, $price)"))
        {
            var p = AddParameters(insert, "$order", "$sku", "$name", "$category", "$quantity", "$price");
            foreach (var (orderId, l) in chunk.Lines)
            {
                Set(p, orderId, l.Sku, l.ProductName, l.Category, l.Quantity, l.UnitPriceMinor);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
    }

    static SqliteParameter[] AddParameters(SqliteCommand command, params string[] names)
    {
        // The command is reused for every row, so SQLite compiles the statement once.
        return names.Select(n => command.Parameters.Add(new SqliteParameter(n, DBNull.Value))).ToArray();
    }

    static void Set(SqliteParameter[] parameters, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) parameters[i].Value = values[i] ?? DBNull.Value;
    }

    /// <summary>
    /// Appends the chunk's consent events, row by row with one prepared statement (consent files are small next to
    /// orders): an event the ledger holds already (same customer, purpose, time and status) is left alone, and a
    /// withdrawal without a basis withdraws the basis the purpose had.
    /// </summary>
    public async Task<MergeResult> MergeConsentsAsync(Chunk chunk, CancellationToken ct)
    {
        await using var tx = await BeginChunkAsync(ct);
        await using var insert = connection.Command("""
            INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, ip_address, user_agent,
                consent_text_version, recorded_at)
            SELECT c.id, @purpose, @status,
                   COALESCE(@basis, (SELECT e.lawful_basis FROM consent_events AS e WHERE e.customer_id = c.id AND e.purpose = @purpose
                                     ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'consent'),
                   @objection, @source, @occurred, @ip, @agent, @version, @now
            FROM customers AS c WHERE c.external_id = @customer
            ON CONFLICT DO NOTHING
            """, tx, [("@purpose", ""), ("@status", ""), ("@basis", null), ("@objection", false), ("@source", ""), ("@occurred", now),
            ("@ip", null), ("@agent", null), ("@version", null), ("@now", now), ("@customer", "")]);
        await using var known = connection.Command("SELECT 1 FROM customers WHERE external_id = @customer", tx, [("@customer", "")]);
        long created = 0, unchanged = 0;
        var unknownLines = new List<long>();
        foreach (var (line, e) in chunk.Consents)
        {
            foreach (var (name, value) in new (string, object?)[] { ("@purpose", e.Purpose), ("@status", e.Status), ("@basis", e.LawfulBasis),
                         ("@objection", e.Objection), ("@source", e.Source ?? "import"), ("@occurred", e.OccurredAt), ("@ip", e.IpAddress),
                         ("@agent", e.UserAgent), ("@version", e.ConsentTextVersion), ("@customer", e.CustomerId) })
                insert.Parameters[name].Value = value ?? DBNull.Value;
            if (await insert.ExecuteNonQueryAsync(ct) == 1) { created++; continue; }
            known.Parameters["@customer"].Value = e.CustomerId;
            if (await known.ExecuteScalarAsync(ct) is null) unknownLines.Add(line);
            else unchanged++;
        }
        await tx.CommitAsync(ct);
        return new MergeResult(created, 0, unchanged, unknownLines);
    }

    /// <summary>A command with whichever of the shared values (@now, @locale, @zone) its SQL uses.</summary>
    DbCommand Command(DbTransaction? tx, string sql) =>
        connection.Command(sql, tx, new (string Name, object? Value)[] { ("@now", now), ("@locale", shop.DefaultLocale), ("@zone", shop.TimeZone) }
            .Where(p => sql.Contains(p.Name, StringComparison.Ordinal)));

    async Task<int> ExecuteAsync(DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(tx, sql);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
