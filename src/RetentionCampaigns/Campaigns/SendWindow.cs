using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// How many deliveries this node may have marked "sending" at once: twice the transport's in-flight limit (an SMTP
/// pool's connections). A job takes slots before it marks a chunk and gives them back once the outcomes are
/// written, so a node that dies leaves at most this many deliveries in doubt. Each of the two jobs sends chunks as
/// large as the pool, so one job's chunk fills the pool while the other writes its outcomes and marks its next
/// chunk; a marked message waits for a free connection at most as long as one chunk takes. (With chunks of half the
/// pool, the connections idled while both jobs were between chunks, and each message paid for twice the statements:
/// campaign benchmark on PostgreSQL 60.8-65.6 s with chunks of 4, 56.0-61.7 s with chunks of 8; PostgreSQL's CPU a
/// message 240-290 µs, then 165-193 µs.)
/// </summary>
public sealed class SendWindow(IMailTransport transport)
{
    readonly SemaphoreSlim slots = new(JobsAtOnce * transport.MaxInFlight);
    // One taker at a time: two jobs each holding part of what they need would otherwise wait for each other forever.
    readonly SemaphoreSlim taking = new(1);

    int jobs;

    /// <summary>Send jobs one node runs at once: two fill the window (each sends chunks of half of it).</summary>
    public const int JobsAtOnce = 2;

    public int Size => JobsAtOnce * transport.MaxInFlight;
    public int ChunkSize => transport.MaxInFlight;

    /// <summary>
    /// Admits a send job when fewer than <see cref="JobsAtOnce"/> are sending on this node. The node's send workers are
    /// that many, so this turns away only a send job run by some other worker (one left in the default queue by a
    /// version before the send queue); it goes back to the store for a send worker on any node.
    /// </summary>
    public bool TryEnterJob(out IDisposable? admission)
    {
        admission = null;
        if (Interlocked.Increment(ref jobs) > JobsAtOnce)
        {
            Interlocked.Decrement(ref jobs);
            return false;
        }
        admission = new JobAdmission(this);
        return true;
    }

    /// <summary>
    /// Admission, waiting up to <paramref name="wait"/> for one: a successor enqueued shortly before its predecessor
    /// ends finds the node full for those seconds, and starts the moment the predecessor leaves rather than going
    /// back to the store (a gap of several seconds in sending). Null when the node stayed full.
    /// </summary>
    public async Task<IDisposable?> EnterJobAsync(TimeSpan wait, CancellationToken ct)
    {
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            if (TryEnterJob(out var admission)) return admission;
            if (DateTime.UtcNow >= until || ct.IsCancellationRequested) return null;
            await Task.Delay(50, CancellationToken.None);
        }
    }

    sealed class JobAdmission(SendWindow window) : IDisposable
    {
        int left;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref left, 1) == 0) Interlocked.Decrement(ref window.jobs);
        }
    }

    public async Task<IDisposable> TakeAsync(int count, CancellationToken ct)
    {
        count = Math.Clamp(count, 1, Size);
        await taking.WaitAsync(ct);
        var taken = 0;
        try
        {
            for (; taken < count; taken++) await slots.WaitAsync(ct);
        }
        catch
        {
            if (taken > 0) slots.Release(taken);
            throw;
        }
        finally
        {
            taking.Release();
        }
        return new Lease(slots, count);
    }

    sealed class Lease(SemaphoreSlim slots, int count) : IDisposable
    {
        int released;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) slots.Release(count);
        }
    }
}
