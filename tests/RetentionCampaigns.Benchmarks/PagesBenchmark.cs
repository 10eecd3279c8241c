using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Tests.Harness;
using Microsoft.Extensions.DependencyInjection;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// The marketer UI's pages as the app process serves them, signed in, on PostgreSQL with the segments benchmark's
/// shop (1,000,000 customers, 10,000,000 orders) and on the demo shop (SQLite): the median of ten requests after
/// three to warm up, over loopback, so the figure is the server's time plus a fraction of a millisecond. Pages
/// without a limit are reported from one request.
/// </summary>
public static partial class PagesBenchmark
{
    const int Warmup = 3, Timed = 10;

    /// <summary>The builder's live count of the five-condition segment, posted as htmx posts it.</summary>
    static readonly (string, string)[] FiveConditionForm =
    [
        ("Name", ""), ("Lines[0].Kind", "all"), ("Lines[0].Depth", "0"),
        ("Lines[1].Kind", "condition"), ("Lines[1].Depth", "1"), ("Lines[1].Field", "recency_days"), ("Lines[1].Op", ">="), ("Lines[1].Value", "90"),
        ("Lines[2].Kind", "condition"), ("Lines[2].Depth", "1"), ("Lines[2].Field", "frequency"), ("Lines[2].Op", ">="), ("Lines[2].Value", "2"),
        ("Lines[3].Kind", "condition"), ("Lines[3].Depth", "1"), ("Lines[3].Field", "m_score"), ("Lines[3].Op", "between"), ("Lines[3].Value", "4"), ("Lines[3].Value2", "5"),
        ("Lines[4].Kind", "condition"), ("Lines[4].Depth", "1"), ("Lines[4].Field", "locale"), ("Lines[4].Op", "="), ("Lines[4].Value", "de"),
        ("Lines[5].Kind", "condition"), ("Lines[5].Depth", "1"), ("Lines[5].Field", "consent.email_marketing"), ("Lines[5].Op", "="), ("Lines[5].Value", "granted"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var ok = true;
        if (!args.Contains("--demo-only")) ok &= await PostgresAsync(Option(args, "--customers", 1_000_000));
        if (!args.Contains("--postgres-only")) ok &= await DemoAsync();
        Console.WriteLine(ok ? "pages: PASS" : "pages: FAIL");
        return ok ? 0 : 1;
    }

    static async Task<bool> PostgresAsync(int customers)
    {
        var admin = Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";
        var database = $"rc_bench_pages_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await ExecuteAsync(new NpgsqlConnection(admin), $"CREATE DATABASE {database}");
        var connection = new NpgsqlConnectionStringBuilder(admin) { Database = database, CommandTimeout = 3600 }.ConnectionString;
        try
        {
            await using (var services = Services("Postgres", connection))
            {
                await MigrateAsync(services);
                await SegmentsBenchmark.GeneratePostgresAsync(connection, customers);
                await using var scope = services.CreateAsyncScope();
                var refresh = await scope.ServiceProvider.GetRequiredService<MetricsRefresh>().RunAsync(null, default);
                Console.WriteLine($"pages/postgres: metrics of {refresh.Customers:N0} customers in {refresh.DurationMs / 1000.0:F1} s");
                var watch = Stopwatch.StartNew();
                await scope.ServiceProvider.GetRequiredService<Kpis.DashboardFigures>().ComputeAsync(default);
                Console.WriteLine($"pages/postgres: the dashboard's figures (four periods and the trend, computed with the metrics) in {watch.Elapsed.TotalSeconds:F1} s");
            }
            var settings = AppProcess.Settings("Postgres", connection);
            var key = await AppProcess.CreateApiKeyAsync(settings, "pages-benchmark");
            var password = await AppProcess.CreateUserAsync(settings, "bench@shop.example", "admin");
            await using var app = await AppProcess.StartAsync("pages", settings, key);
            var browser = await SignInAsync(app.BaseAddress, "bench@shop.example", password);
            var someone = $"C{customers / 2 + 7}";
            return await MeasureAsync("postgres", browser,
            [
                ("dashboard", "/", 1000), ("dashboard trend (loaded after the page)", "/?handler=Trend", 1000),
                ("customer search by id prefix", $"/customers?q={someone[..5].ToLowerInvariant()}", 200),
                ("customer search by e-mail prefix", $"/customers?q=c{customers / 3}@", 200),
                ("customers of one RFM group", "/customers?group=Champions", 200),
                ("customer page", $"/customers/{someone}", 300), ("segment builder live count (5 conditions)", "POST /segments/new", 1000),
                ("segments list (counts follow, one request each)", "/segments", 1000), ("one segment's member count", "/segments?handler=Count&id=1", 1000),
                ("segments list with every count in the page (without JavaScript)", "/segments?counts=true", null),
            ]);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(new NpgsqlConnection(admin), $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    static async Task<bool> DemoAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"rc-bench-demo-{Guid.NewGuid():N}.db");
        try
        {
            var settings = AppProcess.Settings("Sqlite", $"Data Source={file}");
            var key = await AppProcess.CreateApiKeyAsync(settings, "pages-benchmark");
            await using var app = await AppProcess.StartAsync("demo", settings, key, "--demo");
            var (email, demoPassword) = await app.DemoSignInAsync();
            var browser = await SignInAsync(app.BaseAddress, email, demoPassword);
            return await MeasureAsync("demo", browser,
            [
                ("dashboard", "/", 100), ("dashboard trend", "/?handler=Trend", 100), ("customers", "/customers", 100),
                ("customer search", "/customers?q=c001", 100), ("customer page", "/customers/C00042", 100),
                ("segments list", "/segments", 100), ("segment builder live count (5 conditions)", "POST /segments/new", 100),
                ("imports", "/imports", 100),
            ]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Token();

    static async Task<HttpClient> SignInAsync(Uri baseAddress, string email, string password)
    {
        var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
            { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(5) };
        var form = await browser.GetStringAsync("/account/sign-in");
        var response = await browser.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Email"] = email, ["Password"] = password, ["__RequestVerificationToken"] = Token().Match(form).Groups[1].Value,
        }));
        if (response.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException($"sign-in failed: {(int)response.StatusCode}");
        return browser;
    }

    static async Task<bool> MeasureAsync(string store, HttpClient browser, (string Name, string Path, int? LimitMs)[] pages)
    {
        var ok = true;
        var token = Token().Match(await browser.GetStringAsync("/segments/new")).Groups[1].Value;
        foreach (var (name, path, limit) in pages)
        {
            // A page without a limit is reported, not judged: one request after one to warm up.
            var (warmup, timed) = limit is null ? (1, 1) : (Warmup, Timed);
            var times = new List<double>();
            for (var i = 0; i < warmup + timed; i++)
            {
                var watch = Stopwatch.StartNew();
                using var response = path.StartsWith("POST ", StringComparison.Ordinal)
                    ? await browser.SendAsync(new HttpRequestMessage(HttpMethod.Post, path[5..])
                    {
                        Headers = { { "HX-Request", "true" }, { "HX-Target", "preview" } },
                        Content = new FormUrlEncodedContent([.. FiveConditionForm.Select(f => KeyValuePair.Create(f.Item1, f.Item2)),
                            KeyValuePair.Create("__RequestVerificationToken", token)]),
                    })
                    : await browser.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{path}: {(int)response.StatusCode}");
                if (i >= warmup) times.Add(watch.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            var median = times[times.Count / 2];
            var pass = limit is not { } l || median < l;
            ok &= pass;
            Console.WriteLine($"pages/{store}: {name}: median {median:F0} ms, max {times[^1]:F0} ms" + (limit is { } m ? $" (limit {m} ms){(pass ? "" : " FAIL")}" : ""));
        }
        return ok;
    }
}
