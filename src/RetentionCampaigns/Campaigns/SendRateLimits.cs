using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// Messages per minute, per campaign (its policy) and for everything this node sends (<c>Mail:RatePerMinute</c>).
/// Token buckets refilled every second, so a limit of 600/min sends about 10 a second rather than 600 at once.
/// The limits are per node: with several nodes, divide the provider's limit among them.
/// </summary>
public sealed class SendRateLimits(IConfiguration configuration) : IDisposable
{
    readonly ConcurrentDictionary<(long Campaign, int Rate), TokenBucketRateLimiter> perCampaign = new();
    readonly TokenBucketRateLimiter? global = Bucket(configuration.GetValue("Mail:RatePerMinute", 0));

    static TokenBucketRateLimiter? Bucket(int perMinute) => perMinute <= 0 ? null : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
    {
        TokenLimit = Math.Max(1, perMinute / 60),
        TokensPerPeriod = Math.Max(1, perMinute / 60),
        ReplenishmentPeriod = TimeSpan.FromSeconds(perMinute >= 60 ? 1 : 60.0 / perMinute),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    });

    /// <summary>Waits until both the campaign's and the node's limit allow one more message.</summary>
    public async ValueTask WaitAsync(long campaignId, int campaignPerMinute, CancellationToken ct)
    {
        if (campaignPerMinute > 0)
        {
            var bucket = perCampaign.GetOrAdd((campaignId, campaignPerMinute), key => Bucket(key.Rate)!);
            using var lease = await bucket.AcquireAsync(1, ct);
        }
        if (global is not null)
        {
            using var lease = await global.AcquireAsync(1, ct);
        }
    }

    public void Dispose()
    {
        global?.Dispose();
        foreach (var bucket in perCampaign.Values) bucket.Dispose();
    }
}
