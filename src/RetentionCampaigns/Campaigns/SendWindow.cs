using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// How many deliveries this node may have marked "sending" at once: the transport's in-flight limit (an SMTP
/// pool's connections). A job takes slots before it marks a chunk and gives them back once the outcomes are
/// written, so a node that dies leaves at most this many deliveries in doubt. Jobs take half the window each, so
/// one sends while another writes its outcomes.
/// </summary>
public sealed class SendWindow(IMailTransport transport)
{
    readonly SemaphoreSlim slots = new(transport.MaxInFlight);
    // One taker at a time: two jobs each holding part of what they need would otherwise wait for each other forever.
    readonly SemaphoreSlim taking = new(1);

    public int Size => transport.MaxInFlight;
    public int ChunkSize => Math.Max(1, Size / 2);

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
