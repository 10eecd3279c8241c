using Microsoft.AspNetCore.Mvc.RazorPages;
using RetentionCampaigns.Kpis;

namespace RetentionCampaigns.Pages;

/// <summary>The dashboard's first part: the KPIs of the last 30 days, with the counts behind each.</summary>
public sealed class IndexModel(KpiCalculator kpis, TimeProvider clock) : PageModel
{
    public KpiReport Report { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken ct)
    {
        var end = clock.GetUtcNow().UtcDateTime;
        Report = await kpis.ComputeAsync(end.AddDays(-30), end, ct);
    }

    public IEnumerable<(string Name, Kpi Kpi, string Unit)> Tiles =>
    [
        ("Churn rate", Report.ChurnRate, "%"), ("Retention rate", Report.RetentionRate, "%"), ("Revenue retention", Report.RevenueRetention, "%"),
        ("Repeat purchase rate", Report.RepeatPurchaseRate, "%"), ("Upsell rate", Report.UpsellRate, "%"), ("NPS", Report.Nps, ""),
        ("CSAT", Report.Csat, "%"), ("Loyalty rate", Report.LoyaltyRate, ""),
    ];
}
