using System.Collections.Concurrent;
using MimeKit;

namespace RetentionCampaigns.Mail;

/// <summary>
/// Submits messages over SMTP (MailKit) through a pool of up to <see cref="SmtpOptions.PoolSize"/> connections,
/// each reused across messages and carrying one at a time. A pooled connection that turns out dead before anything
/// was handed over (the server dropped it while idle) is replaced and the message tried once more; nothing is ever
/// resent once its final dot went out.
/// </summary>
public sealed class SmtpTransport(SmtpOptions options, DkimSigning? dkim = null) : IMailTransport, IAsyncDisposable
{
    readonly SemaphoreSlim slots = new(Math.Max(1, options.PoolSize));
    readonly ConcurrentBag<SubmissionConnection> idle = [];

    int connectionsOpened;

    public string Description => $"SMTP server {options.Host}:{options.Port}";
    public int MaxInFlight => Math.Max(1, options.PoolSize);
    /// <summary>Connections opened so far (for tests and the benchmark: a pool should open few).</summary>
    public int ConnectionsOpened => connectionsOpened;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken ct)
    {
        var (mime, messageId) = MessageComposer.Compose(message, DateTimeOffset.UtcNow);
        using (mime)
        {
            dkim?.Sign(mime);
            var sender = new MailboxAddress("", message.EnvelopeSender.Address);
            var recipients = message.To.Select(t => new MailboxAddress("", t.Address)).ToArray();
            await slots.WaitAsync(ct);
            try
            {
                for (var attempt = 0; ; attempt++)
                {
                    var (connection, reused, error) = await TakeAsync(ct);
                    if (connection is null)
                        return new SendResult(SendOutcome.Transient, messageId, error!.ReplyCode, error.EnhancedStatus, error.Message);
                    var result = await connection.SendAsync(mime, messageId, sender, recipients, message.NeedsSmtpUtf8);
                    var open = connection.IsConnected;
                    if (open && connection.MessagesSent < options.MaxMessagesPerConnection) idle.Add(connection);
                    else await connection.DisposeAsync();
                    // A reused connection that failed before the message went out: the server had dropped it.
                    if (reused && attempt == 0 && !open && result is { Outcome: SendOutcome.Transient, ReplyCode: null or 421 }) continue;
                    return result;
                }
            }
            finally
            {
                slots.Release();
            }
        }
    }

    async Task<(SubmissionConnection? Connection, bool Reused, SmtpConnectionException? Error)> TakeAsync(CancellationToken ct)
    {
        while (idle.TryTake(out var pooled))
        {
            if (pooled.IsConnected && DateTime.UtcNow - pooled.LastUsed < options.IdleTimeout) return (pooled, true, null);
            await pooled.DisposeAsync();
        }
        try
        {
            var connection = await SubmissionConnection.OpenAsync(options, ct);
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
