using System.Collections.Concurrent;

namespace RetentionCampaigns.Mail;

/// <summary>
/// Submits messages over SMTP through a pool of up to <see cref="SmtpOptions.PoolSize"/> connections, each
/// reused across messages. A pooled connection that turns out dead before anything was handed over (the server
/// dropped it while idle) is replaced and the message tried once more; nothing is ever resent once its final dot
/// went out.
/// </summary>
public sealed class SmtpTransport(SmtpOptions options) : IMailTransport, IAsyncDisposable
{
    readonly SemaphoreSlim slots = new(Math.Max(1, options.PoolSize));
    readonly ConcurrentBag<SmtpConnection> idle = [];

    int connectionsOpened;

    public string Description => $"SMTP server {options.Host}:{options.Port}";
    public int MaxInFlight => Math.Max(1, options.PoolSize);
    /// <summary>Connections opened so far (for tests and the benchmark: a pool should open few).</summary>
    public int ConnectionsOpened => connectionsOpened;

    public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken ct)
    {
        var (bytes, messageId) = MimeWriter.Write(message, DateTimeOffset.UtcNow);
        var from = (message.ReturnPath ?? message.From).Address;
        return SendAsync(messageId, from, message.To.Select(t => t.Address).ToList(), bytes, message.NeedsSmtpUtf8, ct);
    }

    public async Task<SendResult> SendAsync(string messageId, string from, IReadOnlyList<string> recipients, byte[] data, bool needsSmtpUtf8,
        CancellationToken ct)
    {
        await slots.WaitAsync(ct);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var (connection, reused, error) = await TakeAsync(ct);
                if (connection is null)
                    return new SendResult(SendOutcome.Transient, messageId, error!.Reply?.Code, error.Reply?.EnhancedStatus, error.Message);
                var result = await connection.SendAsync(messageId, from, recipients, data, needsSmtpUtf8, ct);
                if (connection.Usable && connection.MessagesSent < options.MaxMessagesPerConnection) idle.Add(connection);
                else await connection.DisposeAsync();
                // A reused connection that failed on the wire before the message went out: the server had dropped it.
                if (reused && attempt == 0 && result is { Outcome: SendOutcome.Transient, ReplyCode: null or 421 } && !connection.Usable) continue;
                return result;
            }
        }
        finally
        {
            slots.Release();
        }
    }

    async Task<(SmtpConnection? Connection, bool Reused, SmtpConnectionException? Error)> TakeAsync(CancellationToken ct)
    {
        while (idle.TryTake(out var pooled))
        {
            if (pooled.Usable && DateTime.UtcNow - pooled.LastUsed < options.IdleTimeout) return (pooled, true, null);
            await pooled.DisposeAsync();
        }
        try
        {
            var connection = await SmtpConnection.OpenAsync(options, ct);
            Interlocked.Increment(ref connectionsOpened);
            return (connection, false, null);
        }
        catch (SmtpConnectionException exception)
        {
            return (null, false, exception);
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (idle.TryTake(out var connection)) await connection.DisposeAsync();
    }
}
