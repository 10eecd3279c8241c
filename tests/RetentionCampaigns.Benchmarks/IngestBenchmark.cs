using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// Imports a generated orders CSV into PostgreSQL through the product's importer against the floor of PostgreSQL
/// doing the whole upsert itself, in the same run: psql's \copy of the same file into a temporary table, then one
/// INSERT ... SELECT ... ON CONFLICT DO UPDATE into the same indexed orders table with its foreign key (and, as the
/// file's rows are order lines, a second one into order_lines, printed apart). For reference, the old floor: \copy
/// into a bare table of text columns.
/// </summary>
public static class IngestBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = Option(args, "--rows", 1_000_000);
        var customerCount = Option(args, "--customers", 100_000);
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = $"rc_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        var dir = Directory.CreateTempSubdirectory("rc-bench");
        var customersCsv = Path.Combine(dir.FullName, "customers.csv");
        var ordersCsv = Path.Combine(dir.FullName, "orders.csv");
        try
        {
            Console.WriteLine($"ingest: generating {customerCount:N0} customers and {rows:N0} order rows...");
            await GenerateAsync(customersCsv, ordersCsv, customerCount, rows);
            Console.WriteLine($"ingest: orders.csv is {new FileInfo(ordersCsv).Length / 1024.0 / 1024.0:F1} MiB");

            await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
            var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;

            var bareSeconds = await CopyFloorAsync(connection, ordersCsv);
            Console.WriteLine($"ingest: for reference, psql \\copy into a bare table: {bareSeconds:F2} s, {rows / bareSeconds:N0} rows/s");

            await using var services = Services("Postgres", connection);
            await MigrateAsync(services);
            var customers = await ImportAsync(services, ImportKind.Customers, customersCsv);
            Console.WriteLine($"ingest: customers {customers.Report.RowsAccepted:N0} in {customers.Seconds:F2} s");

            // Each timed part starts after a checkpoint: the writes before it are not flushed in the middle of its
            // time (ours, after the floor's gigabytes, ran 41-56 s on the same build).
            await ExecuteAsync(new NpgsqlConnection(connection), "CHECKPOINT");
            var upsert = await UpsertFloorAsync(connection, ordersCsv);
            var floorRate = rows / upsert.Orders;
            Console.WriteLine($"ingest: floor  psql \\copy into a temporary table + one INSERT ... ON CONFLICT DO UPDATE into orders: {upsert.Orders:F2} s, {floorRate:N0} rows/s " +
                              $"(with a second one into order_lines: {upsert.Orders + upsert.Lines:F2} s, {rows / (upsert.Orders + upsert.Lines):N0} rows/s)");
            // Ours starts from the same empty tables the floor started from.
            await ExecuteAsync(new NpgsqlConnection(connection), "TRUNCATE orders CASCADE");
            await ExecuteAsync(new NpgsqlConnection(connection), "VACUUM ANALYZE orders, order_lines");
            await ExecuteAsync(new NpgsqlConnection(connection), "CHECKPOINT");

            var baseline = Process.GetCurrentProcess().WorkingSet64;
            var orders = await ImportAsync(services, ImportKind.Orders, ordersCsv);
            var peak = PeakResidentBytes();
            var rate = rows / orders.Seconds;
            Console.WriteLine($"ingest: ours   import orders (validate, upsert, lines): {orders.Seconds:F2} s, {rate:N0} rows/s, " +
                              $"accepted {orders.Report.RowsAccepted:N0}, rejected {orders.Report.RowsRejected:N0}");
            var ratio = rate / floorRate;
            var peakMb = peak / 1024.0 / 1024.0;
            Console.WriteLine($"ingest: ratio ours/floor = {ratio:P1} (goal at least 50 %); against the floor with order_lines {rate / (rows / (upsert.Orders + upsert.Lines)):P1}");
            Console.WriteLine($"ingest: peak memory of this process = {peakMb:F0} MB (limit 300 MB; {baseline / 1024.0 / 1024.0:F0} MB before the orders import)");

            var ok = ratio >= 0.5 && peakMb < 300 && orders.Report.RowsAccepted == rows;
            Console.WriteLine(ok ? "ingest: PASS" : "ingest: FAIL");
            return ok ? 0 : 1;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            dir.Delete(recursive: true);
        }
    }

    static async Task<(ImportReport Report, double Seconds)> ImportAsync(ServiceProvider services, ImportKind kind, string file)
    {
        await using var scope = services.CreateAsyncScope();
        var watch = Stopwatch.StartNew();
        var report = await scope.ServiceProvider.GetRequiredService<CsvImporter>().ImportAsync(kind, file, Path.GetFileName(file), null, default);
        return (report, watch.Elapsed.TotalSeconds);
    }

    static async Task<double> CopyFloorAsync(string connection, string csv)
    {
        await ExecuteAsync(new NpgsqlConnection(connection), """
            CREATE TABLE floor_orders (order_id text, customer_id text, ordered_at text, amount text, currency text,
                refunded text, sku text, product_name text, category text, quantity text, unit_price text)
            """);
        var watch = Stopwatch.StartNew();
        await PsqlAsync(connection, "-c", $"\\copy floor_orders FROM '{csv}' WITH (FORMAT csv, HEADER true)");
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// PostgreSQL doing the upsert itself in one psql session: the session up to the orders upsert makes the floor;
    /// the order lines' upsert is timed apart by psql (\timing).
    /// </summary>
    static async Task<(double Orders, double Lines)> UpsertFloorAsync(string connection, string csv)
    {
        var script = Path.Combine(Path.GetDirectoryName(csv)!, "floor.sql");
        await File.WriteAllTextAsync(script, $$"""
            CREATE TEMPORARY TABLE staged (order_id text, customer_id text, ordered_at text, amount text, currency text,
                refunded text, sku text, product_name text, category text, quantity text, unit_price text);
            \timing on
            \copy staged FROM '{{csv}}' WITH (FORMAT csv, HEADER true)
            INSERT INTO orders (external_id, customer_id, ordered_at, amount_minor, refunded_minor, currency, created_at, updated_at)
            SELECT s.order_id, c.id, s.ordered_at::timestamptz, round(s.amount::numeric * 100)::bigint, round(s.refunded::numeric * 100)::bigint,
                   s.currency, now(), now()
            FROM staged AS s JOIN customers AS c ON c.external_id = s.customer_id
            ON CONFLICT (external_id) DO UPDATE SET customer_id = excluded.customer_id, ordered_at = excluded.ordered_at,
                amount_minor = excluded.amount_minor, refunded_minor = excluded.refunded_minor, currency = excluded.currency, updated_at = excluded.updated_at;
            INSERT INTO order_lines (order_id, sku, product_name, category, quantity, unit_price_minor)
            SELECT o.id, s.sku, s.product_name, s.category, s.quantity::integer, round(s.unit_price::numeric * 100)::bigint
            FROM staged AS s JOIN orders AS o ON o.external_id = s.order_id
            ON CONFLICT (order_id, sku) DO UPDATE SET product_name = excluded.product_name, category = excluded.category,
                quantity = excluded.quantity, unit_price_minor = excluded.unit_price_minor;
            """);
        var watch = Stopwatch.StartNew();
        var output = await PsqlAsync(connection, "-f", script);
        var total = watch.Elapsed.TotalSeconds;
        var lines = output.Split('\n').Where(l => l.StartsWith("Time: ", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture) / 1000).LastOrDefault();
        if (lines == 0) throw new InvalidOperationException($"psql printed no timing:\n{output}");
        return (total - lines, lines);
    }

    static async Task<string> PsqlAsync(string connection, params string[] arguments)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection);
        var start = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-h", builder.Host!, "-p", builder.Port.ToString(), "-U", builder.Username!, "-d", builder.Database!, "-v", "ON_ERROR_STOP=1" }.Concat(arguments))
            start.ArgumentList.Add(arg);
        start.Environment["PGPASSWORD"] = builder.Password;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"psql failed: {output}");
        return output;
    }

    /// <summary>VmHWM: the most resident memory this process has had.</summary>
    static long PeakResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
        return line is null ? Process.GetCurrentProcess().PeakWorkingSet64 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    static async Task GenerateAsync(string customersCsv, string ordersCsv, int customers, int rows)
    {
        var random = new Random(42);
        await using (var writer = new StreamWriter(customersCsv, false, new UTF8Encoding(false), 1 << 16))
        {
            await writer.WriteLineAsync("external_id,email,first_name,last_name,country");
            for (var i = 1; i <= customers; i++)
                await writer.WriteLineAsync($"C{i},kunde{i}@beispiel.de,Jörg{i % 97},Müller{i % 89},{(i % 3 == 0 ? "GB" : "DE")}");
        }
        string[] categories = ["Kaffee", "Tee", "Zubehör", "Maschinen", "Süßes", "Geschenke"];
        var start = new DateTime(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await using (var writer = new StreamWriter(ordersCsv, false, new UTF8Encoding(false), 1 << 16))
        {
            await writer.WriteLineAsync("order_id,customer_id,ordered_at,amount,currency,refunded,sku,product_name,category,quantity,unit_price");
            for (var i = 1; i <= rows; i++)
            {
                var cents = random.Next(500, 50_000);
                var category = categories[random.Next(categories.Length)];
                var at = start.AddMinutes(random.Next(0, 3 * 365 * 24 * 60)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                var amount = (cents / 100m).ToString("0.00", CultureInfo.InvariantCulture);
                await writer.WriteLineAsync($"O{i},C{random.Next(1, customers + 1)},{at},{amount},EUR,0,SKU-{random.Next(1, 400)},Produkt {category},{category},1,{amount}");
            }
        }
    }
}
