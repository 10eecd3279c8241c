using System.Globalization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Templates;
using RetentionCampaigns.Kpis;

namespace RetentionCampaigns.Pages;

/// <summary>The dashboard's first part: the KPIs of the last 30 days, with the counts behind each.</summary>
public sealed class IndexModel(KpiCalculator kpis, IOptions<ShopOptions> shop, TimeProvider clock) : PageModel
{
    public KpiReport Report { get; private set; } = null!;

    public async Task OnGetAsync(CancellationToken ct)
    {
        var end = clock.GetUtcNow().UtcDateTime;
        Report = await kpis.ComputeAsync(end.AddDays(-30), end, ct);
    }

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
