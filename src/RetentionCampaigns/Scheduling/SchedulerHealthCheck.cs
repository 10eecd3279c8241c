using System.Globalization;
using Hangfire;
using Hangfire.States;
using RetentionCampaigns.Campaigns;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RetentionCampaigns.Scheduling;

/// <summary>This node's Hangfire server as the store sees it: when it last said it is alive, and how many servers share the store.</summary>
public sealed class SchedulerStatus
{
    /// <summary>This node's server name (unique per host, so two hosts in one process are told apart).</summary>
    public string ServerName { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}".ToLowerInvariant();
    /// <summary>The node's second server, which only takes send jobs (see <see cref="CampaignSendJob.Queue"/>).</summary>
    public string SendServerName => $"{ServerName}-send";
    public DateTime? StartedAt { get; set; }
}

/// <summary>
/// Healthy while this node's server is listed with a recent heartbeat (or has just started and not yet announced
/// itself); the description says how many servers are alive and how old this node's heartbeat is.
/// </summary>
public sealed class SchedulerHealthCheck(JobStorage storage, SchedulerStatus status, SchedulingOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (status.StartedAt is not { } started) return Task.FromResult(HealthCheckResult.Unhealthy("The scheduler has not started."));
        IList<Hangfire.Storage.Monitoring.ServerDto> servers;
        try
        {
            servers = storage.GetMonitoringApi().Servers();
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The scheduler's job store cannot be reached."));
        }
        var now = DateTime.UtcNow;
        // One per node: a node's send-only server is not counted again.
        var alive = servers.Count(s => s.Heartbeat is { } beat && now - beat < options.ServerTimeout && s.Queues.Contains(EnqueuedState.DefaultQueue));
        var mine = servers.FirstOrDefault(s => s.Name.StartsWith(status.ServerName + ":", StringComparison.OrdinalIgnoreCase));
        if (mine?.Heartbeat is not { } heartbeat)
            return Task.FromResult(now - started < TimeSpan.FromSeconds(30)
                ? HealthCheckResult.Healthy($"starting; {alive} server(s) alive")
                : HealthCheckResult.Unhealthy($"this node's scheduler is not registered; {alive} server(s) alive"));
        var age = (now - heartbeat).TotalSeconds;
        var text = string.Create(CultureInfo.InvariantCulture, $"{alive} server(s) alive; this node's heartbeat {age:0} s ago");
        // Three missed heartbeats: the node's scheduler is stuck or cut off from the store.
        return Task.FromResult(age < 3 * options.HeartbeatInterval.TotalSeconds + 5 ? HealthCheckResult.Healthy(text) : HealthCheckResult.Unhealthy(text));
    }
}
