using Microsoft.Extensions.Diagnostics.HealthChecks;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Health;

public sealed class DatabaseHealthCheck(RetentionDb db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        await db.Database.CanConnectAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The database cannot be reached.");
}
