using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Users;
using RetentionCampaigns.Kpis;

namespace RetentionCampaigns.Pages;

/// <summary>The dashboard's first part: the KPIs of the last 30 days, with the counts behind each.</summary>
public sealed class IndexModel(DashboardFigures figures, DashboardFiguresInBackground figuresLater, RetentionDb db, MetricsRefresh refresh) : PageModel
{
    public static int[] Periods => DashboardFigures.Periods;
    /// <summary>When the KPI figures shown were computed (with the metrics, or on first view).</summary>
    public DateTime FiguresAsOf { get; private set; }

    /// <summary>The period's length in days, ending now; compared with the same length before it.</summary>
    [BindProperty(SupportsGet = true, Name = "days")] public int Days { get; set; } = 30;
    public KpiReport Report { get; private set; } = null!;
    public KpiReport Previous { get; private set; } = null!;
    /// <summary>The KPIs month by month for the trend chart: the last twelve calendar months, the current one so far.</summary>
    public List<MonthFigures> Months { get; private set; } = [];
    /// <summary>Customers and their net revenue in the lookback window per (R, F) cell of the RFM grid.</summary>
    public Dictionary<(int R, int F), (int Customers, long RevenueMinor)> Grid { get; private set; } = [];
    public DateTime? MetricsAsOf { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (!Periods.Contains(Days)) Days = 30;
        var (period, asOf) = await figures.ForPeriodAsync(Days, ct);
        (Report, Previous, FiguresAsOf) = (period.Now, period.Previous, asOf);
        Grid = (await db.CustomerMetrics.Where(m => m.RScore != null && m.FScore != null)
                .GroupBy(m => new { m.RScore, m.FScore })
                .Select(g => new { g.Key.RScore, g.Key.FScore, Customers = g.Count(), Revenue = g.Sum(m => m.MonetaryMinor) })
                .ToListAsync(ct))
            .ToDictionary(c => (c.RScore!.Value, c.FScore!.Value), c => (c.Customers, c.Revenue));
        MetricsAsOf = await db.MetricsRuns.OrderByDescending(r => r.Id).Select(r => (DateTime?)r.EvaluatedAt).FirstOrDefaultAsync(ct);
    }

    /// <summary>The trend chart, asked for by the page once it is shown (twelve months of KPIs cost more than the tiles).</summary>
    public async Task<IActionResult> OnGetTrendAsync(CancellationToken ct)
    {
        Months = (await figures.TrendAsync(ct)).Figures;
        if (Request.Headers.ContainsKey("HX-Request")) return Partial("_Trend", this);
        // Without JavaScript the link asks for the whole dashboard with the trend in it.
        await OnGetAsync(ct);
        return Page();
    }

    /// <summary>How a KPI moved against the previous period, in points for rates; empty when either side is unknown.</summary>
    public string Change(Kpi now, Kpi before, string unit)
    {
        if (now.Value is not { } a || before.Value is not { } b) return "";
        var delta = a - b;
        var text = (delta >= 0 ? "+" : "−") + Math.Abs(delta).ToString("0.0", CultureInfo.CurrentCulture);
        return unit == "%" ? text + " pp" : text;
    }

    /// <summary>Recomputes every customer's metrics now (marketers and admins; analysts only read).</summary>
    public async Task<IActionResult> OnPostRefreshAsync(CancellationToken ct)
    {
        if (!UserRoles.MayChange(User)) return Forbid();
        await refresh.RunAsync(null, ct);
        figuresLater.Start(); // minutes at a million customers: the dashboard shows the last ones and says when
        return RedirectToPage();
    }

    /// <summary>The sides of a grid cell where its named group ends (rows run from R 5 at the top to R 1), drawn as a line.</summary>
    public static string Outline(int r, int f)
    {
        var group = RfmGroups.For(r, f);
        bool Other(int r2, int f2) => r2 is < 1 or > 5 || f2 is < 1 or > 5 || RfmGroups.For(r2, f2) != group;
        return string.Join(' ', new[] { Other(r + 1, f) ? "edge-top" : null, Other(r - 1, f) ? "edge-bottom" : null,
            Other(r, f - 1) ? "edge-left" : null, Other(r, f + 1) ? "edge-right" : null }.OfType<string>());
    }

    /// <summary>How strongly a cell is shaded: its share of the fullest cell, in five steps.</summary>
    public int Shade(int customers) => Grid.Count == 0 || customers == 0 ? 0 : 1 + 4 * customers / Math.Max(1, Grid.Values.Max(v => v.Customers));

    public IEnumerable<(string Name, Kpi Kpi, string Unit, Kpi Before)> Tiles =>
    [
        ("Churn rate", Report.ChurnRate, "%", Previous.ChurnRate), ("Retention rate", Report.RetentionRate, "%", Previous.RetentionRate),
        ("Revenue retention", Report.RevenueRetention, "%", Previous.RevenueRetention),
        ("Repeat purchase rate", Report.RepeatPurchaseRate, "%", Previous.RepeatPurchaseRate), ("Upsell rate", Report.UpsellRate, "%", Previous.UpsellRate),
        ("NPS", Report.Nps, "", Previous.Nps), ("CSAT", Report.Csat, "%", Previous.Csat), ("Loyalty rate", Report.LoyaltyRate, "", Previous.LoyaltyRate),
    ];

    /// <summary>The trend chart's Chart.js configuration: retention, churn and repeat rate in % on the left axis, NPS on the right.</summary>
    public string TrendChart(Func<string, string> text, Func<DateTime, string> month)
    {
        var labels = Months.Select(m => month(m.Month)).ToArray();
        object Line(string label, Func<KpiReport, Kpi> pick, string color, string axis) => new
        {
            label = text(label), data = Months.Select(m => pick(m.Report).Value is { } v ? Math.Round(v, 1) : (double?)null).ToArray(),
            borderColor = color, backgroundColor = color, yAxisID = axis, spanGaps = true,
        };
        return System.Text.Json.JsonSerializer.Serialize(new
        {
            type = "line",
            data = new
            {
                labels,
                datasets = new[]
                {
                    Line("Retention rate", r => r.RetentionRate, "#0f766e", "rate"), Line("Churn rate", r => r.ChurnRate, "#b91c1c", "rate"),
                    Line("Repeat purchase rate", r => r.RepeatPurchaseRate, "#1d4ed8", "rate"), Line("NPS", r => r.Nps, "#a16207", "nps"),
                },
            },
            options = new
            {
                animation = false, responsive = true, maintainAspectRatio = false,
                scales = new { rate = new { type = "linear", position = "left", title = new { display = true, text = "%" } },
                               nps = new { type = "linear", position = "right", min = -100, max = 100, title = new { display = true, text = "NPS" }, grid = new { drawOnChartArea = false } } },
            },
        });
    }
}
