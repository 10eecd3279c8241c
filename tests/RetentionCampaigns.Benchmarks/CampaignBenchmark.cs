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
/// message the sink accepted, the app's peak memory, the CPU per message of the app and of PostgreSQL, and
/// PostgreSQL's five most expensive statements of the run. The floor is Postfix's own smtp-source with 8 sessions
/// (-d -s 8) against the same sink in the same run; our SMTP pool's rate on its own is printed beside it.
/// <c>--json FILE</c> writes the figures for <see cref="BenchmarkGuard"/>. <c>--warm-up</c> first sends a campaign to a
/// third of the customers in the same app process, so the measured one runs on code the JIT has already optimised (a
/// node that has been up for a while) rather than on a freshly started one (the goals' case, measured by default).
/// <c>--app-env NAME=VALUE</c> (repeatable) runs the app with a runtime setting to compare, e.g. <c>DOTNET_TieredPGO=1</c>.
/// </summary>
public static class CampaignBenchmark
{
    /// <summary>One store's figures of one run; what the regression guard compares.</summary>
    public sealed record Figures(string Store, int Sent, double Seconds, double Rate, double Floor, double RatioToFloor, double AppCpuMicroseconds,
        double? DatabaseCpuMicroseconds, double PeakMegabytes, double FirstMessageSeconds);

    /// <summary>How the app is run: after a warm-up campaign or not, with extra environment variables (runtime settings to compare).</summary>
    sealed record RunOptions(bool WarmUp, IReadOnlyList<KeyValuePair<string, string>> AppEnvironment);

    /// <summary>Each <c>--app-env NAME=VALUE</c>, e.g. <c>DOTNET_TieredPGO=1</c>: set in the app process only, not in the benchmark's.</summary>
    static List<KeyValuePair<string, string>> AppEnvironment(string[] args)
    {
        var environment = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] != "--app-env") continue;
            var (name, separator, value) = args[i + 1].Split('=', 2) switch { [var n, var v] => (n, true, v), _ => ("", false, "") };
            if (!separator || name.Length == 0) throw new ArgumentException($"--app-env takes NAME=VALUE, not '{args[i + 1]}'");
            environment.Add(new(name, value));
        }
        return environment;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var recipients = Option(args, "--recipients", 100_000);
        var run = new RunOptions(args.Contains("--warm-up"), AppEnvironment(args));
        var port = AppProcess.FreePort();
        using var sink = SmtpBenchmark.StartSink(port);
        var figures = new List<Figures>();
        try
        {
            var pool = await SmtpBenchmark.MeasureAsync(port, poolSize: 8, workers: 8, 20_000);
            // smtp-source's rate varies by a quarter from one run to the next here: the better of two is the floor.
            var floor = Math.Max(SmtpBenchmark.SmtpSource(port, sessions: 8, 20_000), SmtpBenchmark.SmtpSource(port, sessions: 8, 20_000));
            Console.WriteLine($"campaign: floor smtp-source -d -s 8: {floor:N0} messages/s; our SMTP pool of 8 alone: {pool:N0} messages/s ({pool / floor:P0} of it)");
            var ok = true;
            if (!args.Contains("--sqlite-only")) ok &= Check(await PostgresAsync(recipients, port, floor, run), limitSeconds: 40);
            if (!args.Contains("--postgres-only")) ok &= Check(await SqliteAsync(recipients, port, floor, run), limitSeconds: 80);
            if (OptionText(args, "--json") is { } json)
            {
                await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new { benchmark = "campaign", recipients, measuredAt = DateTime.UtcNow, figures },
                    new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
                Console.WriteLine($"campaign: figures written to {json}");
            }
            Console.WriteLine(ok ? "campaign: PASS" : "campaign: FAIL");
            return ok ? 0 : 1;
        }
        finally
        {
            sink.Kill();
        }

        bool Check(Figures run, int limitSeconds)
        {
            figures.Add(run);
            var ok = run.Sent == recipients && run.Seconds <= limitSeconds && run.PeakMegabytes < 400 && (run.Store != "postgres" || run.RatioToFloor >= 0.45);
            Console.WriteLine($"campaign: {run.Store}: goals: at most {limitSeconds} s, peak under 400 MB" + (run.Store == "postgres" ? ", at least 45 % of the floor" : "") +
                              $": {(ok ? "met" : "NOT met")}");
            return ok;
        }
    }

    static async Task<Figures> PostgresAsync(int recipients, int port, double floor, RunOptions run)
    {
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = $"rc_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
        var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, Options = Environment.GetEnvironmentVariable("RC_BENCH_PGOPTIONS") }.ConnectionString;
        try
        {
            return await MeasureAsync("Postgres", connection, () => new NpgsqlConnection(connection), recipients, port, floor, run);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    static async Task<Figures> SqliteAsync(int recipients, int port, double floor, RunOptions run)
    {
        var file = Path.Combine(Path.GetTempPath(), $"rc-bench-campaign-{Guid.NewGuid():N}.db");
        var connection = $"Data Source={file}";
        try
        {
            return await MeasureAsync("Sqlite", connection, () => new SqliteConnection(connection), recipients, port, floor, run);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            var jobs = RetentionCampaigns.Scheduling.SchedulingSetup.SqliteJobsFile(connection);
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
            foreach (var suffix in new[] { "", "-wal", "-shm", ".lock" }) File.Delete(jobs + suffix);
        }
    }

    static async Task<Figures> MeasureAsync(string provider, string connection, Func<DbConnection> open, int recipients, int port, double floor, RunOptions run)
    {
        var store = provider.ToLowerInvariant();
        var postgres = provider == "Postgres";
        await using (var services = Services(provider, connection)) await MigrateAsync(services);
        await ExecuteAsync(open(), ScenarioShop.SeedSql(postgres, recipients));

        var settings = AppProcess.Settings(provider, connection, new Dictionary<string, string>
        {
            ["Mail:Transport"] = "Smtp", ["Mail:Smtp:Host"] = "127.0.0.1", ["Mail:Smtp:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Mail:Smtp:Security"] = "None", ["Mail:Smtp:PoolSize"] = Environment.GetEnvironmentVariable("RC_BENCH_POOL") ?? "8", ["Logging:LogLevel:RetentionCampaigns"] = "Warning",
        });
        var key = await AppProcess.CreateApiKeyAsync(settings, "benchmark");
        foreach (var (name, value) in run.AppEnvironment) settings[name] = value;
        await using var app = await AppProcess.StartAsync("bench", settings, key);

        if (run.WarmUp)
        {
            await CompleteAsync(await ScheduleAsync("Warm-up", new { field = "locale", op = "=", value = "en" }, DateTimeOffset.UtcNow.AddSeconds(2)));
            Console.WriteLine($"campaign: {store}: warm-up campaign to the English-speaking third completed; the measured one runs in the same app process");
        }
        // The statements of this campaign only (not of start-up or of the warm-up).
        var statements = postgres && await StatementStatistics.StartAsync(open());
        var sendAt = DateTimeOffset.UtcNow.AddSeconds(3);
        var (cpuBefore, postgresBefore) = (app.CpuTime, PostgresCpu());
        var report = await CompleteAsync(await ScheduleAsync("Benchmark", new { field = "locale", op = "in", value = new[] { "de", "en" } }, sendAt));
        var peak = app.PeakMemoryBytes;
        var appCpu = app.CpuTime - cpuBefore;
        var databaseCpu = postgres ? PostgresCpu() - postgresBefore : TimeSpan.Zero;
        var (firstAccepted, lastAccepted) = await AcceptedSpanAsync(open());
        var seconds = (lastAccepted - sendAt.UtcDateTime).TotalSeconds;
        var sent = report.GetProperty("statuses").GetProperty("sent").GetInt32();
        var rate = sent / seconds;
        var figures = new Figures(store, sent, Math.Round(seconds, 1), Math.Round(rate), Math.Round(floor), Math.Round(rate / floor, 3),
            Math.Round(appCpu.TotalMicroseconds / sent), postgres ? Math.Round(databaseCpu.TotalMicroseconds / sent) : null,
            Math.Round(peak / 1048576.0), Math.Round((firstAccepted - sendAt.UtcDateTime).TotalSeconds, 1));
        Console.WriteLine($"campaign: {store}: {sent:N0} of {recipients:N0} sent, trigger to last accepted {seconds:F1} s = {rate:N0} messages/s; " +
                          $"{figures.RatioToFloor:P0} of the floor {floor:N0}/s; app peak memory {figures.PeakMegabytes:N0} MB");
        Console.WriteLine($"campaign: {store}: CPU per message: app {figures.AppCpuMicroseconds:N0} µs" +
                          (postgres ? $", PostgreSQL {figures.DatabaseCpuMicroseconds:N0} µs" : " (SQLite runs inside the app)"));
        Console.WriteLine($"campaign: {store}: first message accepted {figures.FirstMessageSeconds:F1} s after the trigger; report {report.GetProperty("statuses")}");
        if (statements) await StatementStatistics.PrintTopAsync(open(), $"campaign: {store}", sent);
        return figures;

        async Task<long> ScheduleAsync(string name, object rule, DateTimeOffset at)
        {
            var segment = await JsonAsync(await app.Api.PostAsJsonAsync("/api/segments", new { name, rule }));
            var campaign = await JsonAsync(await app.Api.PostAsJsonAsync("/api/campaigns", new
            {
                name, segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back", holdoutPercent = 0,
                schedule = new { kind = "once", sendAt = at },
                policy = new { quietFrom = "", quietUntil = "" },
            }));
            var id = campaign.GetProperty("id").GetInt64();
            (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).EnsureSuccessStatusCode();
            return id;
        }

        // The run's report once the campaign completed.
        async Task<JsonElement> CompleteAsync(long id)
        {
            var deadline = DateTime.UtcNow.AddMinutes(10);
            while (true)
            {
                await Task.Delay(500);
                // The campaign's state is cheap to read; the report counts the whole ledger, so it is read once at the end.
                var state = (await JsonAsync(await app.Api.GetAsync($"/api/campaigns/{id}"))).GetProperty("state").GetString();
                if (state == "completed") return (await JsonAsync(await app.Api.GetAsync($"/api/campaigns/{id}/runs")))[0];
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{store}: the run did not complete (campaign {state}):\n{app.Output}");
                if (app.HasExited) throw new InvalidOperationException($"{store}: the app died:\n{app.Output}");
            }
        }
    }

    /// <summary>CPU time of every PostgreSQL process alive now (the server's backends for the app's connections among them).</summary>
    static TimeSpan PostgresCpu()
    {
        var total = TimeSpan.Zero;
        foreach (var process in Process.GetProcessesByName("postgres"))
            using (process)
                try { total += process.TotalProcessorTime; }
                // Exited meanwhile: before the runtime read its stat file (InvalidOperationException) or while it did.
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        return total;
    }

    static async Task<(DateTime First, DateTime Last)> AcceptedSpanAsync(DbConnection connection)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            // The latest run's: the measured campaign's, after a warm-up's.
            command.CommandText = "SELECT min(updated_at), max(updated_at) FROM deliveries WHERE status = 'sent' AND run_id = (SELECT max(id) FROM campaign_runs)";
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
