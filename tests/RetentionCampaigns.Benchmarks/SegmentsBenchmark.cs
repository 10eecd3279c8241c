using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Segments;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// Metrics refresh, a five-condition segment count and a preview at scale. The floor for the refresh is one
/// hand-written aggregate SELECT over the orders (count, sum, max date per customer), run in the same process.
/// </summary>
public static class SegmentsBenchmark
{
    static readonly DateTime Now = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    const string EmptyObject = "{}";

    const string FiveConditions = """
        {"all": [{"field": "recency_days", "op": ">=", "value": 90}, {"field": "frequency", "op": ">=", "value": 2},
                 {"field": "m_score", "op": "between", "value": [4, 5]}, {"field": "locale", "op": "=", "value": "de"},
                 {"field": "consent.email_marketing", "op": "=", "value": "granted"}]}
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var ok = true;
        if (!args.Contains("--sqlite-only"))
            ok &= await PostgresAsync(Option(args, "--customers", 1_000_000), keep: args.Contains("--keep"), reuse: OptionText(args, "--reuse"));
        if (!args.Contains("--postgres-only")) ok &= await SqliteAsync(Option(args, "--sqlite-customers", 100_000));
        Console.WriteLine(ok ? "segments: PASS" : "segments: FAIL");
        return ok ? 0 : 1;
    }

    /// <param name="keep">Leave the database behind (its name is printed) to look at the queries' plans.</param>
    /// <param name="reuse">A database an earlier run kept: measured again as it is, without generating (and kept).</param>
    static async Task<bool> PostgresAsync(int customers, bool keep, string? reuse)
    {
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = reuse ?? $"rc_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        if (reuse is null) await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
        var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, CommandTimeout = 3600 }.ConnectionString;
        try
        {
            await using var services = Services("Postgres", connection);
            await MigrateAsync(services);
            if (reuse is null) await GeneratePostgresAsync(connection, customers);
            return await MeasureAsync("postgres", services, connection, refreshLimitSeconds: null);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            if (keep || reuse is not null) Console.WriteLine($"segments/postgres: database {database} kept");
            else await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    /// <summary>
    /// A migrated PostgreSQL database filled with customers, ten orders each on average over three years, one survey
    /// answer each and marketing consent for three in four (the page benchmark uses the same shop).
    /// </summary>
    public static async Task GeneratePostgresAsync(string connection, int customers)
    {
        var orders = customers * 10;
        var watch = Stopwatch.StartNew();
        // Bulk generation: indexes and foreign keys are dropped for the load and rebuilt after, as a restore would.
        await ExecuteAsync(new NpgsqlConnection(connection), $"""
            ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;
            DROP INDEX ix_orders_external_id; DROP INDEX ix_orders_customer_id_ordered_at;
            INSERT INTO customers (external_id, email, locale, time_zone, country, signed_up_at, tags, attributes, created_at, updated_at)
            SELECT 'C' || g, 'c' || g || '@example.com', CASE WHEN g % 3 = 0 THEN 'en' ELSE 'de' END, 'Europe/Berlin',
                   CASE WHEN g % 3 = 0 THEN 'GB' ELSE 'DE' END, TIMESTAMPTZ '2023-01-01' + (g % 1000) * INTERVAL '1 day', '[]', '{EmptyObject}', now(), now()
            FROM generate_series(1, {customers}) AS g;
            INSERT INTO orders (external_id, customer_id, ordered_at, amount_minor, refunded_minor, currency, created_at, updated_at)
            SELECT 'O' || g, 1 + floor(power(random(), 1.5) * {customers})::bigint, TIMESTAMPTZ '2026-01-01' - random() * INTERVAL '1095 days',
                   500 + floor(random() * 20000)::bigint, CASE WHEN g % 25 = 0 THEN 500 ELSE 0 END, 'EUR', now(), now()
            FROM generate_series(1, {orders}) AS g;
            CREATE UNIQUE INDEX ix_orders_external_id ON orders (external_id);
            CREATE INDEX ix_orders_customer_id_ordered_at ON orders (customer_id, ordered_at);
            ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
            INSERT INTO survey_answers (customer_id, answered_at, nps, csat, ces, buy_again, try_new_products, recommend, created_at)
            SELECT 1 + (g::bigint * 7919) % {customers}, TIMESTAMPTZ '2026-01-01' - (g % 700) * INTERVAL '1 day' - g * INTERVAL '1 second',
                   g % 11, 1 + g % 5, CASE WHEN g % 2 = 0 THEN 1 + g % 7 END, 1 + g % 10, NULL, 1 + (g::bigint * 3) % 10, now()
            FROM generate_series(1, {customers}) AS g;
            INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, source, occurred_at, recorded_at)
            SELECT id, 'email_marketing', CASE WHEN id % 10 = 0 THEN 'withdrawn' ELSE 'granted' END, 'consent', 'import', TIMESTAMPTZ '2024-01-01', now()
            FROM customers WHERE id % 4 <> 0;
            """);
        // A checkpoint now rather than in the middle of the timings: the load wrote gigabytes.
        await ExecuteAsync(new NpgsqlConnection(connection), "VACUUM ANALYZE");
        await ExecuteAsync(new NpgsqlConnection(connection), "CHECKPOINT");
        Console.WriteLine($"segments/postgres: generated {customers:N0} customers, {orders:N0} orders, {customers:N0} answers in {watch.Elapsed.TotalSeconds:F0} s");
    }

    static async Task<bool> SqliteAsync(int customers)
    {
        var file = Path.Combine(Path.GetTempPath(), $"rc-bench-{Guid.NewGuid():N}.db");
        var connection = $"Data Source={file}";
        try
        {
            await using var services = Services("Sqlite", connection);
            await MigrateAsync(services);
            var orders = customers * 10;
            var watch = Stopwatch.StartNew();
            await ExecuteAsync(new SqliteConnection(connection), $"""
                BEGIN;
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {customers})
                INSERT INTO customers (external_id, email, locale, time_zone, country, signed_up_at, tags, attributes, created_at, updated_at)
                SELECT 'C' || n, 'c' || n || '@example.com', CASE WHEN n % 3 = 0 THEN 'en' ELSE 'de' END, 'Europe/Berlin',
                       CASE WHEN n % 3 = 0 THEN 'GB' ELSE 'DE' END, strftime('%Y-%m-%d %H:%M:%S', '2023-01-01', '+' || (n % 1000) || ' days'), '[]', '{EmptyObject}',
                       '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g;
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {orders})
                INSERT INTO orders (external_id, customer_id, ordered_at, amount_minor, refunded_minor, currency, created_at, updated_at)
                SELECT 'O' || n, 1 + abs(random()) % {customers}, strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '-' || (abs(random()) % 94608000) || ' seconds'),
                       500 + abs(random()) % 20000, CASE WHEN n % 25 = 0 THEN 500 ELSE 0 END, 'EUR', '2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM g;
                WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {customers})
                INSERT INTO survey_answers (customer_id, answered_at, nps, csat, ces, buy_again, try_new_products, recommend, created_at)
                SELECT 1 + (n * 7919) % {customers}, strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '-' || (n % 700) || ' days', '-' || n || ' seconds'),
                       n % 11, 1 + n % 5, CASE WHEN n % 2 = 0 THEN 1 + n % 7 END, 1 + n % 10, NULL, 1 + (n * 3) % 10, '2026-01-01 00:00:00' FROM g;
                INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, source, occurred_at, recorded_at)
                SELECT id, 'email_marketing', CASE WHEN id % 10 = 0 THEN 'withdrawn' ELSE 'granted' END, 'consent', 'import', '2024-01-01 00:00:00', '2026-01-01 00:00:00'
                FROM customers WHERE id % 4 <> 0;
                COMMIT;
                ANALYZE;
                """);
            Console.WriteLine($"segments/sqlite: generated {customers:N0} customers, {orders:N0} orders in {watch.Elapsed.TotalSeconds:F0} s");
            return await MeasureAsync("sqlite", services, connection, refreshLimitSeconds: 30);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
        }
    }

    static async Task<bool> MeasureAsync(string store, ServiceProvider services, string connection, double? refreshLimitSeconds)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RetentionDb>();

        var watch = Stopwatch.StartNew();
        var groups = 0;
        await db.Database.OpenConnectionAsync();
        await using (var floor = db.Database.GetDbConnection().CreateCommand())
        {
            floor.CommandText = "SELECT customer_id, COUNT(*), SUM(amount_minor), MAX(ordered_at) FROM orders GROUP BY customer_id";
            floor.CommandTimeout = 3600;
            await using var reader = await floor.ExecuteReaderAsync();
            while (await reader.ReadAsync()) groups++;
        }
        await db.Database.CloseConnectionAsync();
        var floorSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"segments/{store}: floor aggregate SELECT over orders: {floorSeconds:F2} s ({groups:N0} customers)");

        // The whole call, not the run's recorded duration: what follows its commit (work tables dropped) counts too.
        watch.Restart();
        var refresh = await scope.ServiceProvider.GetRequiredService<MetricsRefresh>().RunAsync(Now, default);
        var refreshSeconds = watch.Elapsed.TotalSeconds;
        var ratio = refreshSeconds / floorSeconds;
        Console.WriteLine($"segments/{store}: metrics refresh of {refresh.Customers:N0} customers: {refreshSeconds:F2} s = {ratio:F2} x the floor (limit 2.00 x)"
                          + (refreshLimitSeconds is { } l ? $", limit {l:F0} s" : ""));

        var errors = new ValidationErrors();
        var rule = SegmentRule.Parse(JsonDocument.Parse(FiveConditions).RootElement, "rule", errors)!;
        // The first count after the refresh, then four more as a marketer editing the rule sees them (the builder
        // counts again on each change); the goal holds for the first.
        var counts = new List<double>();
        long count = 0;
        for (var i = 0; i < 5; i++)
        {
            watch.Restart();
            var query = new SegmentQuery(rule, db.IsPostgres, Now);
            await db.Database.OpenConnectionAsync();
            await using (var counting = query.Command(db.Database.GetDbConnection(), "COUNT(*)"))
                count = Convert.ToInt64(await counting.ExecuteScalarAsync());
            await db.Database.CloseConnectionAsync();
            counts.Add(watch.Elapsed.TotalSeconds);
        }
        var countSeconds = counts[0];
        Console.WriteLine($"segments/{store}: five-condition segment count: {countSeconds:F3} s ({count:N0} members; limit 0.5 s); "
                          + $"the next four {string.Join(", ", counts.Skip(1).Select(c => c.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))} s");

        watch.Restart();
        var preview = await SegmentsApi.PreviewAsync(db, rule, Now, default);
        var previewSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"segments/{store}: preview (count + first {preview.First.Count}): {previewSeconds:F3} s (limit 2 s)");

        var refreshOk = refreshLimitSeconds is { } limit ? refreshSeconds < limit : ratio <= 2;
        return refreshOk && (refreshLimitSeconds is not null || (countSeconds < 0.5 && previewSeconds < 2));
    }
}
