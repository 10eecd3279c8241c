using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Kpis;

/// <summary>One stored set of dashboard figures: a period's KPIs with the period before, or the twelve-month trend.</summary>
public sealed class DashboardFigure
{
    public required string Name { get; set; }
    public DateTime ComputedAt { get; set; }
    public required string Content { get; set; }
}

public sealed record PeriodFigures(KpiReport Now, KpiReport Previous);
public sealed record MonthFigures(DateTime Month, KpiReport Report);

/// <summary>
/// The dashboard's KPIs computed ahead, with the metrics: every KPI is an aggregate over all orders (seconds at a
/// million customers), so the dashboard reads what was computed at the last refresh and says when. A shop that has
/// none yet gets them computed on first view.
/// </summary>
public sealed class DashboardFigures(KpiCalculator kpis, RetentionDb db, TimeProvider clock)
{
    public static readonly int[] Periods = [7, 30, 90, 365];
    const string Trend = "trend";

    /// <summary>Computes every period and the trend as of now and stores them in place of the last ones.</summary>
    public async Task ComputeAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var days in Periods) await StoreAsync(days.ToString(System.Globalization.CultureInfo.InvariantCulture), await PeriodAsync(days, now, ct), now, ct);
        await StoreAsync(Trend, await MonthsAsync(now, ct), now, ct);
    }

    public Task<(PeriodFigures Figures, DateTime ComputedAt)> ForPeriodAsync(int days, CancellationToken ct) =>
        ReadAsync(days.ToString(System.Globalization.CultureInfo.InvariantCulture), now => PeriodAsync(days, now, ct), ct);

    public Task<(List<MonthFigures> Figures, DateTime ComputedAt)> TrendAsync(CancellationToken ct) => ReadAsync(Trend, now => MonthsAsync(now, ct), ct);

    async Task<PeriodFigures> PeriodAsync(int days, DateTime end, CancellationToken ct) =>
        new(await kpis.ComputeAsync(end.AddDays(-days), end, ct), await kpis.ComputeAsync(end.AddDays(-2 * days), end.AddDays(-days), ct));

    /// <summary>The last twelve calendar months, the current one so far.</summary>
    async Task<List<MonthFigures>> MonthsAsync(DateTime now, CancellationToken ct)
    {
        var months = new List<MonthFigures>();
        var first = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(-11);
        for (var month = first; month <= now; month = month.AddMonths(1))
            months.Add(new MonthFigures(month, await kpis.ComputeAsync(month, month.AddMonths(1) < now ? month.AddMonths(1) : now, ct)));
        return months;
    }

    async Task<(T, DateTime)> ReadAsync<T>(string name, Func<DateTime, Task<T>> compute, CancellationToken ct)
    {
        if (await db.DashboardFigures.AsNoTracking().FirstOrDefaultAsync(f => f.Name == name, ct) is { } stored
            && JsonSerializer.Deserialize<T>(stored.Content) is { } figures)
            return (figures, DateTime.SpecifyKind(stored.ComputedAt, DateTimeKind.Utc));
        var now = clock.GetUtcNow().UtcDateTime;
        var computed = await compute(now);
        await StoreAsync(name, computed, now, ct);
        return (computed, now);
    }

    async Task StoreAsync<T>(string name, T figures, DateTime now, CancellationToken ct)
    {
        var content = JsonSerializer.Serialize(figures);
        // Another node may store the same figures at the same moment: the last write wins, both are right.
        if (await db.DashboardFigures.Where(f => f.Name == name).ExecuteUpdateAsync(u => u.SetProperty(f => f.ComputedAt, now).SetProperty(f => f.Content, content), ct) > 0)
            return;
        db.DashboardFigures.Add(new DashboardFigure { Name = name, ComputedAt = now, Content = content });
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException) { }
        finally { db.ChangeTracker.Clear(); }
    }
}

/// <summary>
/// The dashboard's figures for a refresh asked for by hand (the API, the button): computed after the answer, one
/// computation at a time, and once more if another refresh came in meanwhile. At a million customers they take
/// minutes, which nobody should wait for on a request; the dashboard says how old the figures it shows are.
/// </summary>
public sealed class DashboardFiguresInBackground(IServiceScopeFactory scopes, IHostApplicationLifetime lifetime, ILogger<DashboardFiguresInBackground> log)
{
    int running, again;

    public void Start()
    {
        Volatile.Write(ref again, 1);
        if (Interlocked.CompareExchange(ref running, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            try
            {
                while (Interlocked.Exchange(ref again, 0) == 1)
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<DashboardFigures>().ComputeAsync(lifetime.ApplicationStopping);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "The dashboard's figures could not be computed");
            }
            finally
            {
                Volatile.Write(ref running, 0);
                // A refresh that came in after the last check and before this point would otherwise go unheard.
                if (Volatile.Read(ref again) == 1 && !lifetime.ApplicationStopping.IsCancellationRequested) Start();
            }
        });
    }
}
