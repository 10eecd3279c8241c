using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using RetentionCampaigns.Tests.Harness;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// A one-off campaign to every customer (all with marketing consent, no holdout, no quiet hours) sent by the app
/// running as its own process to Postfix's smtp-sink: time from the campaign's send time (its trigger) to the last
/// message the sink accepted, and the app's peak memory. The floor is the smtp benchmark's pool of 8 against the
/// same sink in the same run.
/// </summary>
public static class CampaignBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var recipients = Option(args, "--recipients", 100_000);
        var port = AppProcess.FreePort();
        using var sink = SmtpBenchmark.StartSink(port);
        try
        {
            var floor = await SmtpBenchmark.MeasureAsync(port, poolSize: 8, workers: 8, 20_000);
            var ok = true;
            if (!args.Contains("--sqlite-only")) ok &= await PostgresAsync(recipients, port, floor);
            if (!args.Contains("--postgres-only")) ok &= await SqliteAsync(recipients, port, floor);
            Console.WriteLine(ok ? "campaign: PASS" : "campaign: FAIL");
            return ok ? 0 : 1;
        }
        finally
        {
            sink.Kill();
        }
    }

    static async Task<bool> PostgresAsync(int recipients, int port, double floor)
    {
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = $"rc_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
        var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, Options = Environment.GetEnvironmentVariable("RC_BENCH_PGOPTIONS") }.ConnectionString;
        try
        {
            return await MeasureAsync("Postgres", connection, () => new NpgsqlConnection(connection), recipients, port, floor, limitSeconds: 60);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    static async Task<bool> SqliteAsync(int recipients, int port, double floor)
    {
        var file = Path.Combine(Path.GetTempPath(), $"rc-bench-campaign-{Guid.NewGuid():N}.db");
        var connection = $"Data Source={file}";
        try
        {
            return await MeasureAsync("Sqlite", connection, () => new SqliteConnection(connection), recipients, port, floor, limitSeconds: 120);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            var jobs = RetentionCampaigns.Scheduling.SchedulingSetup.SqliteJobsFile(connection);
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
            foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" }) File.Delete(jobs + suffix);
        }
    }

    static async Task<bool> MeasureAsync(string provider, string connection, Func<DbConnection> open, int recipients, int port, double floor, int limitSeconds)
    {
        var store = provider.ToLowerInvariant();
        await using (var services = Services(provider, connection)) await MigrateAsync(services);
        await ExecuteAsync(open(), ScenarioShop.SeedSql(provider == "Postgres", recipients));

        var settings = AppProcess.Settings(provider, connection, new Dictionary<string, string>
        {
            ["Mail:Transport"] = "Smtp", ["Mail:Smtp:Host"] = "127.0.0.1", ["Mail:Smtp:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Mail:Smtp:Security"] = "None", ["Mail:Smtp:PoolSize"] = Environment.GetEnvironmentVariable("RC_BENCH_POOL") ?? "8", ["Logging:LogLevel:RetentionCampaigns"] = "Warning",
        });
        var key = await AppProcess.CreateApiKeyAsync(settings, "benchmark");
        await using var app = await AppProcess.StartAsync("bench", settings, key);

        var segment = await JsonAsync(await app.Api.PostAsJsonAsync("/api/segments",
            new { name = "Everyone", rule = new { field = "locale", op = "in", value = new[] { "de", "en" } } }));
        var sendAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var (cpuBefore, postgresBefore) = (app.CpuTime, PostgresCpu());
        var campaign = await JsonAsync(await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Benchmark", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back", holdoutPercent = 0,
            schedule = new { kind = "once", sendAt },
            policy = new { quietFrom = "", quietUntil = "" },
        }));
        var id = campaign.GetProperty("id").GetInt64();
        (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).EnsureSuccessStatusCode();

        var deadline = DateTime.UtcNow.AddSeconds(limitSeconds * 5 + 30);
        JsonElement report;
        while (true)
        {
            await Task.Delay(500);
            // The campaign's state is cheap to read; the report counts the whole ledger, so it is read once at the end.
            var state = (await JsonAsync(await app.Api.GetAsync($"/api/campaigns/{id}"))).GetProperty("state").GetString();
            if (state == "completed")
            {
                report = (await JsonAsync(await app.Api.GetAsync($"/api/campaigns/{id}/runs")))[0];
                break;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{store}: the run did not complete (campaign {state}):\n{app.Output}");
            if (app.HasExited) throw new InvalidOperationException($"{store}: the app died:\n{app.Output}");
        }
        var peak = app.PeakMemoryBytes;
        var appCpu = app.CpuTime - cpuBefore;
        var databaseCpu = provider == "Postgres" ? PostgresCpu() - postgresBefore : TimeSpan.Zero;
        var (firstAccepted, lastAccepted) = await AcceptedSpanAsync(open());
        var seconds = (lastAccepted - sendAt.UtcDateTime).TotalSeconds;
        var sent = report.GetProperty("statuses").GetProperty("sent").GetInt32();
        var rate = sent / seconds;
        Console.WriteLine($"campaign: {store}: {sent:N0} of {recipients:N0} sent, trigger to last accepted {seconds:F1} s = {rate:N0} messages/s " +
                          $"(goal <= {limitSeconds} s); {rate / floor:P0} of the smtp pool floor {floor:N0}/s; app peak memory {peak / 1048576.0:N0} MB (goal < 500 MB)");
        Console.WriteLine($"campaign: {store}: CPU per message: app {appCpu.TotalMilliseconds * 1000 / sent:N0} µs" +
                          (provider == "Postgres" ? $", PostgreSQL {databaseCpu.TotalMilliseconds * 1000 / sent:N0} µs" : " (SQLite runs inside the app)"));
        Console.WriteLine($"campaign: {store}: first message accepted {(firstAccepted - sendAt.UtcDateTime).TotalSeconds:F1} s after the trigger; report {report.GetProperty("statuses")}");
        return sent == recipients && seconds <= limitSeconds && peak < 500L * 1024 * 1024;
    }

    /// <summary>CPU time of every PostgreSQL process alive now (the server's backends for the app's connections among them).</summary>
    static TimeSpan PostgresCpu()
    {
        var total = TimeSpan.Zero;
        foreach (var process in Process.GetProcessesByName("postgres"))
            using (process)
                try { total += process.TotalProcessorTime; }
                catch (InvalidOperationException) { } // exited meanwhile
        return total;
    }

    static async Task<(DateTime First, DateTime Last)> AcceptedSpanAsync(DbConnection connection)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT min(updated_at), max(updated_at) FROM deliveries WHERE status = 'sent'";
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return (Utc(reader.GetValue(0)), Utc(reader.GetValue(1)));
        }

        static DateTime Utc(object value) => value switch
        {
            DateTime time => DateTime.SpecifyKind(time, DateTimeKind.Utc),
            string text => DateTime.SpecifyKind(DateTime.Parse(text, CultureInfo.InvariantCulture), DateTimeKind.Utc),
            _ => throw new InvalidOperationException("no message was sent"),
        };
    }

    static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
