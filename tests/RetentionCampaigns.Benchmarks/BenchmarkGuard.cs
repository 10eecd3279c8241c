using System.Text.Json;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// Compares campaign runs (the JSON files of <c>campaign --json</c>) with the figures committed for the last release
/// (baseline.json): per store, the median of the runs against the median of the baseline's. Fails when the ratio to
/// the floor drops by more than 15 %; that ratio is the figure that travels between machines, as the floor (smtp-source
/// on the same sink) is measured in the same run. The CPU per message of each side is shown beside it, and flagged
/// when it rose by more than 15 %: on a CPU-bound machine that is what lowers the ratio.
/// </summary>
public static class BenchmarkGuard
{
    const double Tolerance = 0.15;

    public static int Run(string[] args)
    {
        var baselinePath = BenchmarkHost.OptionText(args, "--baseline") ?? Path.Combine("tests", "RetentionCampaigns.Benchmarks", "baseline.json");
        var runs = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--baseline")).ToList();
        if (runs.Count == 0)
        {
            Console.Error.WriteLine("Usage: guard [--baseline baseline.json] run1.json [run2.json ...]");
            return 2;
        }
        var baseline = Read(baselinePath);
        var measured = runs.SelectMany(Read).ToList();
        var ok = true;
        foreach (var store in baseline.Select(f => f.Store).Distinct())
        {
            var before = baseline.Where(f => f.Store == store).ToList();
            var now = measured.Where(f => f.Store == store).ToList();
            if (now.Count == 0)
            {
                Console.WriteLine($"guard: {store}: not measured in these runs");
                ok = false;
                continue;
            }
            var (ratioBefore, ratioNow) = (Median(before, f => f.RatioToFloor), Median(now, f => f.RatioToFloor));
            var dropped = ratioNow < ratioBefore * (1 - Tolerance);
            ok &= !dropped;
            Console.WriteLine($"guard: {store}: ratio to the floor {ratioNow:P0} (baseline {ratioBefore:P0}, {Change(ratioBefore, ratioNow)}){(dropped ? " - DROPPED by more than 15 %" : "")}; " +
                              $"{Median(now, f => f.Rate):N0} messages/s (baseline {Median(before, f => f.Rate):N0}) over {now.Count} run(s)");
            Cpu("app", f => f.AppCpuMicroseconds);
            if (before.All(f => f.DatabaseCpuMicroseconds is not null) && now.All(f => f.DatabaseCpuMicroseconds is not null))
                Cpu("PostgreSQL", f => f.DatabaseCpuMicroseconds!.Value);

            void Cpu(string side, Func<CampaignBenchmark.Figures, double> pick)
            {
                var (was, @is) = (Median(before, pick), Median(now, pick));
                Console.WriteLine($"guard: {store}: CPU per message, {side}: {@is:N0} µs (baseline {was:N0} µs, {Change(was, @is)})" +
                                  (@is > was * (1 + Tolerance) ? " - rose by more than 15 %" : ""));
            }
        }
        Console.WriteLine(ok ? "guard: PASS" : "guard: FAIL");
        return ok ? 0 : 1;
    }

    static string Change(double before, double now) => $"{(now - before) / before:+0%;-0%;0%}";

    static double Median(List<CampaignBenchmark.Figures> figures, Func<CampaignBenchmark.Figures, double> pick)
    {
        var sorted = figures.Select(pick).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    static List<CampaignBenchmark.Figures> Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("figures").Deserialize<List<CampaignBenchmark.Figures>>(new JsonSerializerOptions(JsonSerializerDefaults.Web))
               ?? throw new InvalidOperationException($"{path} has no figures.");
    }
}
