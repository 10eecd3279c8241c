using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Users;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Templates;
using RetentionCampaigns.Kpis;

namespace RetentionCampaigns.Pages;

/// <summary>The dashboard's first part: the KPIs of the last 30 days, with the counts behind each.</summary>
public sealed class IndexModel(KpiCalculator kpis, RetentionDb db, MetricsRefresh refresh, IOptions<ShopOptions> shop, TimeProvider clock) : PageModel
{
    public KpiReport Report { get; private set; } = null!;
    /// <summary>Customers and their net revenue in the lookback window per (R, F) cell of the RFM grid.</summary>
    public Dictionary<(int R, int F), (int Customers, long RevenueMinor)> Grid { get; private set; } = [];
    public DateTime? MetricsAsOf { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        var end = clock.GetUtcNow().UtcDateTime;
        Report = await kpis.ComputeAsync(end.AddDays(-30), end, ct);
        Grid = (await db.CustomerMetrics.Where(m => m.RScore != null && m.FScore != null)
                .GroupBy(m => new { m.RScore, m.FScore })
                .Select(g => new { g.Key.RScore, g.Key.FScore, Customers = g.Count(), Revenue = g.Sum(m => m.MonetaryMinor) })
                .ToListAsync(ct))
            .ToDictionary(c => (c.RScore!.Value, c.FScore!.Value), c => (c.Customers, c.Revenue));
        MetricsAsOf = await db.MetricsRuns.OrderByDescending(r => r.Id).Select(r => (DateTime?)r.EvaluatedAt).FirstOrDefaultAsync(ct);
    }

    /// <summary>Recomputes every customer's metrics now (marketers and admins; analysts only read).</summary>
    public async Task<IActionResult> OnPostRefreshAsync(CancellationToken ct)
    {
        if (!User.IsInRole(UserRoles.Admin) && !User.IsInRole(UserRoles.Marketer)) return Forbid();
        await refresh.RunAsync(null, ct);
        return RedirectToPage();
    }

    /// <summary>How strongly a cell is shaded: its share of the fullest cell, in five steps.</summary>
    public int Shade(int customers) => Grid.Count == 0 || customers == 0 ? 0 : 1 + 4 * customers / Math.Max(1, Grid.Values.Max(v => v.Customers));

    /// <summary>The counts behind a KPI, in the page's language; revenue in the shop's currency (it is kept in cents).</summary>
    public string Count(double value, bool money) => money
        ? LocaleFormat.For(CultureInfo.CurrentUICulture.TwoLetterISOLanguageName).Money(Money.FromMinor((long)value, shop.Value.Currency))
        : value.ToString("N0", CultureInfo.CurrentCulture);

    public IEnumerable<(string Name, Kpi Kpi, string Unit)> Tiles =>
    [
        ("Churn rate", Report.ChurnRate, "%"), ("Retention rate", Report.RetentionRate, "%"), ("Revenue retention", Report.RevenueRetention, "%"),
        ("Repeat purchase rate", Report.RepeatPurchaseRate, "%"), ("Upsell rate", Report.UpsellRate, "%"), ("NPS", Report.Nps, ""),
        ("CSAT", Report.Csat, "%"), ("Loyalty rate", Report.LoyaltyRate, ""),
    ];
}
