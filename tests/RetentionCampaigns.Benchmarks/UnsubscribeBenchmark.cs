using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Npgsql;
using RetentionCampaigns.Links;
using RetentionCampaigns.Tests.Harness;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// The RFC 8058 one-click POST under load: wrk on loopback against the app process on PostgreSQL, every request a
/// different customer's unsubscribe link. Goals: at least 2,000 requests/s, p99 under 50 ms, no error, and every
/// unsubscribe recorded (at least every one answered 200, at most every one sent).
/// </summary>
public static partial class UnsubscribeBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 30);
        var connections = Option(args, "--connections", 16);
        var threads = Option(args, "--threads", 2);
        var customers = Option(args, "--customers", 250_000);
        const int warmup = 20_000;
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = $"rc_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
        var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
        var work = Directory.CreateTempSubdirectory("rc-bench-unsubscribe-");
        try
        {
            await using (var services = Services("Postgres", connection)) await MigrateAsync(services);
            await ExecuteAsync(new NpgsqlConnection(connection), ScenarioShop.SeedSql(postgres: true, customers));

            // The benchmark signs the links with a key it gives the app, as a second node would.
            var secret = RandomNumberGenerator.GetBytes(32);
            var tokens = new LinkTokens(new Dictionary<int, byte[]> { [9] = secret }, TimeProvider.System);
            var ids = Enumerable.Range(1, customers).Select(id => $"/u/{tokens.Create(LinkPurpose.Unsubscribe, id)}").ToList();
            await File.WriteAllLinesAsync(Path.Combine(work.FullName, "warmup.txt"), ids.Take(warmup));
            await File.WriteAllLinesAsync(Path.Combine(work.FullName, "paths.txt"), ids.Skip(warmup));
            await File.WriteAllTextAsync(Path.Combine(work.FullName, "one-click.lua"), LuaScript);

            var settings = AppProcess.Settings("Postgres", connection, new Dictionary<string, string>
            {
                ["Links:SigningKeys:0:Id"] = "9", ["Links:SigningKeys:0:Secret"] = Convert.ToBase64String(secret),
                ["Logging:LogLevel:Default"] = "Warning",
            });
            var key = await AppProcess.CreateApiKeyAsync(settings, "benchmark");
            await using var app = await AppProcess.StartAsync("bench", settings, key);
            var url = app.BaseAddress.ToString().TrimEnd('/');

            // Warm-up on links of their own (JIT, connection pool), then the measured run on the others.
            await WrkAsync(url, Path.Combine(work.FullName, "warmup.txt"), threads, connections, 5, work.FullName);
            var withdrawnBefore = await CountWithdrawalsAsync(connection);
            var cpuBefore = app.CpuTime;
            var result = await WrkAsync(url, Path.Combine(work.FullName, "paths.txt"), threads, connections, seconds, work.FullName);
            var appCpu = app.CpuTime - cpuBefore;
            var recorded = await CountWithdrawalsAsync(connection) - withdrawnBefore;

            var rate = result.Requests / result.Seconds;
            var errors = result.ConnectErrors + result.ReadErrors + result.WriteErrors + result.Timeouts + result.Non200;
            var recordedOk = recorded >= result.Ok && recorded <= result.Sent;
            Console.WriteLine($"unsubscribe: postgres: {result.Requests:N0} one-click POSTs in {result.Seconds:F1} s = {rate:N0} requests/s (goal >= 2,000); " +
                              $"latency p50 {result.P50Ms:F1} ms, p99 {result.P99Ms:F1} ms (goal < 50), max {result.MaxMs:F1} ms; " +
                              $"{threads} wrk threads, {connections} connections");
            Console.WriteLine($"unsubscribe: postgres: errors {errors} (connect {result.ConnectErrors}, read {result.ReadErrors}, write {result.WriteErrors}, " +
                              $"timeout {result.Timeouts}, non-200 {result.Non200}); withdrawals recorded {recorded:N0} for {result.Ok:N0} answered 200 " +
                              $"and {result.Sent:N0} sent; app CPU {appCpu.TotalMilliseconds * 1000 / Math.Max(1, result.Requests):N0} µs per request");
            if (result.Sent > customers - warmup) Console.WriteLine("unsubscribe: more requests than links: raise --customers so each link is used once");
            var ok = rate >= 2000 && result.P99Ms < 50 && errors == 0 && recordedOk && result.Sent <= customers - warmup;
            Console.WriteLine(ok ? "unsubscribe: PASS" : "unsubscribe: FAIL");
            return ok ? 0 : 1;
        }
        finally
        {
            work.Delete(recursive: true);
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    sealed record WrkResult(long Requests, double Seconds, double P50Ms, double P99Ms, double MaxMs, long ConnectErrors, long ReadErrors, long WriteErrors,
        long Timeouts, long Non200, long Sent, long Ok);

    static async Task<WrkResult> WrkAsync(string url, string paths, int threads, int connections, int seconds, string directory)
    {
        var start = new ProcessStartInfo("wrk", ["-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{seconds}s", "--timeout", "5s", "-s", Path.Combine(directory, "one-click.lua"), url, "--", paths, threads.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = await wrk.StandardOutput.ReadToEndAsync() + await wrk.StandardError.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var line = ResultLine().Match(output);
        if (wrk.ExitCode != 0 || !line.Success) throw new InvalidOperationException($"wrk failed ({wrk.ExitCode}):\n{output}");
        long Value(string name) => long.Parse(Regex.Match(line.Value, $@"\b{name}=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(Value("requests"), Value("duration_us") / 1e6, Value("p50_us") / 1e3, Value("p99_us") / 1e3, Value("max_us") / 1e3,
            Value("connect"), Value("read"), Value("write"), Value("timeout"), Value("non200"), Value("sent"), Value("ok"));
    }

    static async Task<long> CountWithdrawalsAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM consent_events WHERE status = 'withdrawn' AND source = 'unsubscribe_link'", db);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [GeneratedRegex("^RESULT .*$", RegexOptions.Multiline)]
    private static partial Regex ResultLine();

    /// <summary>Each wrk thread walks its own stride of the links (thread k takes k, k + n, ...), so no link is posted twice.</summary>
    const string LuaScript = """
        local counter = 0
        local all = {}
        function setup(thread)
          thread:set("id", counter)
          table.insert(all, thread)
          counter = counter + 1
        end
        function init(args)
          paths = {}
          for line in io.lines(args[1]) do paths[#paths + 1] = line end
          stride = tonumber(args[2])
          index = id
          sent = 0
          ok = 0
          non200 = 0
        end
        function request()
          local path = paths[(index % #paths) + 1]
          index = index + stride
          sent = sent + 1
          return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, "List-Unsubscribe=One-Click")
        end
        function response(status, headers, body)
          if status == 200 then ok = ok + 1 else non200 = non200 + 1 end
        end
        function done(summary, latency, requests)
          local sent, ok, non200 = 0, 0, 0
          for _, thread in ipairs(all) do
            sent = sent + thread:get("sent")
            ok = ok + thread:get("ok")
            non200 = non200 + thread:get("non200")
          end
          io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d connect=%d read=%d write=%d timeout=%d non200=%d sent=%d ok=%d\n",
            summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
            summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, non200, sent, ok))
        end
        """;
}
