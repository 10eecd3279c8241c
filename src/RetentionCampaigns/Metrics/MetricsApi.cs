using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Metrics;

public sealed record RefreshRequest(DateTimeOffset? Now);

public sealed record CustomerMetricsItem(
    string CustomerId, DateTime EvaluatedAt, int OrderCount, DateTime? FirstOrderAt, DateTime? LastOrderAt, int? RecencyDays,
    int Frequency, decimal Monetary, decimal? Aov, int? TenureDays, int? RScore, int? FScore, int? MScore, string? RfmGroup,
    int? NpsLast, string NpsCategory, double? CsatAvg, int? CesLast, double? LoyaltyScore, decimal? Clv, bool Churned);

public static class MetricsApi
{
    public static RouteGroupBuilder MapMetrics(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/metrics").WithTags("Metrics");
        group.MapPost("/refresh", Refresh).WithSummary("Recompute every customer's metrics as of now (or the given instant).");
        group.MapGet("/{customerId}", Get).WithSummary("One customer's metrics from the latest refresh.");
        return group;
    }

    static async Task<Ok<MetricsRefreshResult>> Refresh(RefreshRequest? request, MetricsRefresh refresh, Kpis.DashboardFiguresInBackground figures, CancellationToken ct)
    {
        var result = await refresh.RunAsync(request?.Now?.UtcDateTime, ct);
        // The dashboard's figures are as of now (a refresh as of another instant leaves them); they follow the answer.
        if (request?.Now is null) figures.Start();
        return TypedResults.Ok(result);
    }

    static async Task<Results<Ok<CustomerMetricsItem>, ProblemHttpResult>> Get(string customerId, RetentionDb db, CancellationToken ct)
    {
        var found = await (from c in db.Customers
                           join m in db.CustomerMetrics on c.Id equals m.CustomerId
                           where c.ExternalId == customerId
                           select m).AsNoTracking().FirstOrDefaultAsync(ct);
        if (found is null)
            return await db.Customers.AnyAsync(c => c.ExternalId == customerId, ct)
                ? TypedResults.Problem(title: "No metrics yet.", detail: "Run POST /api/metrics/refresh first.", statusCode: 404)
                : CustomersApi.NotFound(customerId);
        return TypedResults.Ok(AsItem(found, customerId));
    }

    static decimal Money(double minor) => Math.Round((decimal)minor / 100m, 2);

    public static CustomerMetricsItem AsItem(CustomerMetrics m, string customerId) => new(
        customerId, m.EvaluatedAt, m.OrderCount, m.FirstOrderAt, m.LastOrderAt, m.RecencyDays, m.Frequency,
        FieldRules.FromMinorUnits(m.MonetaryMinor), m.AovMinor is { } aov ? Money(aov) : null, m.TenureDays, m.RScore, m.FScore,
        m.MScore, m.RfmGroup, m.NpsLast, m.NpsCategory, m.CsatAvg is { } csat ? Math.Round(csat, 1) : null, m.CesLast,
        m.LoyaltyScore is { } loyalty ? Math.Round(loyalty, 2) : null, m.ClvMinor is { } clv ? Money(clv) : null, m.Churned);
}
