using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RetentionCampaigns.Health;

/// <summary>
/// The /health answer: the overall status and each check's status and description, so whoever reads a 503 sees
/// which part failed. Exception messages stay in the log: the endpoint is public and they can name hosts.
/// </summary>
public static class HealthReportJson
{
    public static Task WriteAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new { status = entry.Value.Status.ToString(), description = entry.Value.Description }),
        }, JsonSerializerOptions.Web);
}
