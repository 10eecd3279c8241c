using System.Net.Sockets;
using System.Security.Authentication;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace RetentionCampaigns.Mail;

/// <summary>The connection could not be made: nobody listening, timed out, TLS or AUTH refused.</summary>
public sealed class SmtpConnectionException(string message, int? replyCode = null, string? enhancedStatus = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int? ReplyCode { get; } = replyCode;
    public string? EnhancedStatus { get; } = enhancedStatus;
}

/// <summary>
/// One pooled MailKit client on a socket of our own with Nagle's algorithm off (MailKit's own connect leaves it on:
/// every command then waits for the peer's delayed ACK, 22 messages/s). MailKit is given our own stream over that
/// socket (<see cref="SubmissionStream"/>: one send per step of the transaction), and the time limits are ours: one
/// deadline per connection, moved on at every write and every reply (MailKit's own socket stream sets up two
/// cancellation sources and a timer for every read and write). Not thread-safe, as MailKit's client is not: the pool
/// hands it to one sender at a time.
/// </summary>
sealed class SubmissionConnection : IAsyncDisposable
{
    readonly SmtpOptions options;
    readonly Socket socket;
    readonly FinalDotWatch watch;
    readonly Client client;
    /// <summary>Cancels whatever MailKit is waiting for once a step takes longer than its limit.</summary>
    readonly CancellationTokenSource deadline = new();

    public int MessagesSent { get; private set; }
    public DateTime LastUsed { get; private set; } = DateTime.UtcNow;
    public bool IsConnected => client.IsConnected;
    public bool SmtpUtf8 => client.Capabilities.HasFlag(SmtpCapabilities.UTF8);

    SubmissionConnection(SmtpOptions options, Socket socket)
    {
        this.options = options;
        this.socket = socket;
        // Every write and every reply starts the next step's limit; the reply after the final dot gets the data timeout.
        watch = new FinalDotWatch(
            onProgress: () => deadline.CancelAfter(options.CommandTimeout),
            onFinalDot: () => deadline.CancelAfter(options.DataTimeout));
        client = new Client(watch)
        {
            LocalDomain = options.ClientName ?? System.Net.Dns.GetHostName(),
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            // As before the move to MailKit: no revocation lookups to third-party hosts from a send path.
            CheckCertificateRevocation = false,
        };
        client.ServerCertificateValidationCallback = TrustedCertificates.Validator(options.TrustedCertificateSha256);
    }

    public static async Task<SubmissionConnection> OpenAsync(SmtpOptions options, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connection = new SubmissionConnection(options, socket);
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(options.ConnectTimeout);
                try { await socket.ConnectAsync(options.Host, options.Port, timeout.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new SmtpConnectionException($"Connecting to {options.Host}:{options.Port} timed out after {options.ConnectTimeout.TotalSeconds:0} s.");
                }
                catch (SocketException e)
                {
                    throw new SmtpConnectionException($"Could not connect to {options.Host}:{options.Port}: {e.Message}", inner: e);
                }
            }
            await connection.HandshakeAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    async Task HandshakeAsync(CancellationToken ct)
    {
        var security = options.Security switch
        {
            SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
            SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
            SmtpSecurity.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
            _ => SecureSocketOptions.None,
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        deadline.CancelAfter(options.CommandTimeout);
        try
        {
            await client.ConnectAsync(new SubmissionStream(socket, watch), options.Host, options.Port, security, cancel.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new SmtpConnectionException($"{options.Host}:{options.Port} did not answer within {options.CommandTimeout.TotalSeconds:0} s while greeting.", inner: e);
        }
        catch (SslHandshakeException e)
        {
            throw new SmtpConnectionException($"TLS with {options.Host} failed: {FirstLine(e.Message)} (a local relay's own certificate can be trusted with TrustedCertificateSha256).", inner: e);
        }
        catch (NotSupportedException e) when (options.Security == SmtpSecurity.StartTls)
        {
            throw new SmtpConnectionException($"{options.Host} does not offer STARTTLS, and the configuration requires it.", inner: e);
        }
        catch (SmtpCommandException e)
        {
            throw new SmtpConnectionException($"The server refused the connection: {(int)e.StatusCode} {e.Message}", (int)e.StatusCode, SmtpReplies.EnhancedStatus(e.Message), e);
        }
        catch (Exception e) when (e is IOException or SmtpProtocolException or TimeoutException or SocketException)
        {
            throw new SmtpConnectionException($"The connection to {options.Host}:{options.Port} failed while greeting: {e.Message}", inner: e);
        }
        // Chunking (BDAT) would leave no final dot to tell a sent message by; SIZE would have every message written
        // twice (once to measure it). Without them the server still refuses an oversized message after the data.
        client.Capabilities &= ~(SmtpCapabilities.Chunking | SmtpCapabilities.BinaryMime | SmtpCapabilities.Size);
        if (!string.IsNullOrEmpty(options.UserName)) await AuthenticateAsync(cancel.Token);
        deadline.CancelAfter(Timeout.InfiniteTimeSpan); // idle in the pool: the idle timeout decides
    }

    async Task AuthenticateAsync(CancellationToken ct)
    {
        if (!client.IsSecure && !options.AllowAuthWithoutTls)
            throw new SmtpConnectionException("AUTH would send the password without TLS; use TLS or STARTTLS, or set AllowAuthWithoutTls for a trusted local relay.");
        try
        {
            if (!string.IsNullOrEmpty(options.AccessToken))
                await client.AuthenticateAsync(new SaslMechanismOAuth2(options.UserName!, options.AccessToken), ct);
            else
            {
                // PLAIN or LOGIN only: the password goes over TLS anyway, and a challenge mechanism the server
                // half-supports would fail in ways a marketer cannot fix.
                var credentials = new System.Net.NetworkCredential(options.UserName, options.Password ?? "");
                SaslMechanism mechanism = client.AuthenticationMechanisms.Contains("PLAIN") ? new SaslMechanismPlain(credentials)
                    : client.AuthenticationMechanisms.Contains("LOGIN") ? new SaslMechanismLogin(credentials)
                    : throw new SmtpConnectionException($"{options.Host} offers no AUTH PLAIN or LOGIN (it offers: {string.Join(" ", client.AuthenticationMechanisms)}).");
                await client.AuthenticateAsync(mechanism, ct);
            }
        }
        catch (MailKit.Security.AuthenticationException e)
        {
            throw new SmtpConnectionException($"Authentication failed: {e.Message}", inner: e);
        }
        catch (SmtpCommandException e)
        {
            throw new SmtpConnectionException($"Authentication failed: {(int)e.StatusCode} {e.Message}", (int)e.StatusCode, SmtpReplies.EnhancedStatus(e.Message), e);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested)
        {
            throw new SmtpConnectionException($"{options.Host} did not answer AUTH within {options.CommandTimeout.TotalSeconds:0} s.", inner: e);
        }
    }

    static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    /// <summary>
    /// One mail transaction. A failure before the final dot went out is a plain transient failure (retry later);
    /// after it, without a reply, the message's fate is unknown: in doubt, never resent.
    /// </summary>
    public async Task<SendResult> SendAsync(MimeMessage message, string messageId, MailboxAddress sender, MailboxAddress[] recipients, bool needsSmtpUtf8)
    {
        LastUsed = DateTime.UtcNow;
        if (needsSmtpUtf8 && !SmtpUtf8)
            return new SendResult(SendOutcome.Permanent, messageId, 553, "5.6.7", $"An address needs SMTPUTF8, which {options.Host} does not offer.");
        watch.Start();
        client.Refused.Clear();
        deadline.CancelAfter(options.CommandTimeout);
        try
        {
            var reply = await client.SendAsync(FormatOptions.Default, message, sender, recipients, deadline.Token);
            deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            MessagesSent++;
            return new SendResult(SendOutcome.Accepted, messageId, 250, SmtpReplies.EnhancedStatus(reply),
                client.Refused.Count == 0 ? $"250 {reply}" : $"250 {reply}; refused recipients: {string.Join("; ", client.Refused.Select(r => $"{r.Address}: {r.Code} {r.Text}"))}");
        }
        catch (SmtpCommandException e) when (e.ErrorCode == SmtpErrorCode.MessageNotAccepted && !watch.FinalDotSent && client.Refused.Count > 0)
        {
            // Every recipient refused: the first refusal says why (MailKit's own error would be a generic 554).
            return SmtpReplies.Failed(messageId, client.Refused[0].Code, client.Refused[0].Text);
        }
        catch (SmtpCommandException e)
        {
            // A reply, wherever it came: the server decided. 421 closes the connection (RFC 5321 3.8).
            if (e.StatusCode == SmtpStatusCode.ServiceNotAvailable) await DisconnectQuietlyAsync();
            else deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            return SmtpReplies.Failed(messageId, (int)e.StatusCode, e.Message);
        }
        catch (ServiceNotAuthenticatedException e)
        {
            deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            return SmtpReplies.Failed(messageId, 530, e.Message);
        }
        catch (Exception e) when (e is IOException or SmtpProtocolException or TimeoutException or SocketException or OperationCanceledException or ServiceNotConnectedException)
        {
            await DisconnectQuietlyAsync();
            var reason = e is OperationCanceledException ? $"{options.Host} did not answer in time"
                : e is SmtpProtocolException or ServiceNotConnectedException ? e.Message : $"the connection failed: {e.Message}";
            return watch.FinalDotSent
                ? new SendResult(SendOutcome.InDoubt, messageId, null, null, $"The connection was lost after the message was sent and before the server replied: {reason}")
                : new SendResult(SendOutcome.Transient, messageId, null, null, reason);
        }
    }

    async Task DisconnectQuietlyAsync()
    {
        try { if (client.IsConnected) await client.DisconnectAsync(false, CancellationToken.None); }
        catch (Exception) { /* closing anyway */ }
    }

    public async ValueTask DisposeAsync()
    {
        if (client.IsConnected)
        {
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.DisconnectAsync(true, quick.Token);
            }
            catch (Exception) { /* closing anyway */ }
        }
        client.Dispose();
        socket.Dispose();
        deadline.Dispose();
    }

    /// <summary>A client that notes refused recipients instead of failing the whole message for one of them.</summary>
    sealed class Client(IProtocolLogger logger) : SmtpClient(logger)
    {
        /// <summary>
        /// The composer already chose each part's encoding for 7-bit transport (lines within 78), which every server
        /// takes; MailKit's own preparation would scan every 7-bit part again per message.
        /// </summary>
        protected override void Prepare(FormatOptions options, MimeMessage message, EncodingConstraint constraint, int maxLineLength) { }

        public List<(string Address, int Code, string Text)> Refused { get; } = [];

        protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
            Refused.Add((mailbox.Address, (int)response.StatusCode, response.Response));
    }
}

/// <summary>
/// Tells whether a message's final dot is out. MailKit passes what it wrote to its protocol logger once its write
/// to the stream returned; a CRLF "." CRLF at the end of everything written since the transaction began is the end of
/// the message. The <see cref="SubmissionStream"/> below may still hold those bytes (or, under TLS, their encrypted
/// record): then the dot counts as sent when the stream reports everything held sent, so a send that fails leaves the
/// message a plain retry. The fault tests and SubmissionStreamTests guard this reading of MailKit's behaviour.
/// </summary>
sealed class FinalDotWatch(Action onProgress, Action onFinalDot) : IProtocolLogger
{
    uint tail; // the last four bytes written, oldest in the high byte
    byte last;
    bool started;
    bool holding; // the stream holds bytes not yet sent
    bool dotWritten; // the final dot was written, and may still be held

    public bool FinalDotSent { get; private set; }
    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public void Start()
    {
        tail = 0;
        last = 0;
        started = true;
        dotWritten = false;
        FinalDotSent = false;
    }

    /// <summary>The stream holds written bytes back.</summary>
    public void Held() => holding = true;

    /// <summary>The stream's held bytes all left in sends that returned.</summary>
    public void AllSent()
    {
        holding = false;
        if (dotWritten) Sent();
    }

    public void LogConnect(Uri uri) { }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        onProgress();
        if (!started || count == 0) return;
        // Keep the last five bytes: "\r\n.\r\n".
        for (var i = Math.Max(offset, offset + count - 5); i < offset + count; i++)
        {
            tail = tail << 8 | last;
            last = buffer[i];
        }
        if (last == '\n' && tail == ('\r' << 24 | '\n' << 16 | '.' << 8 | '\r'))
        {
            started = false;
            dotWritten = true;
            if (!holding) Sent();
        }
    }

    void Sent()
    {
        dotWritten = false;
        FinalDotSent = true;
        onFinalDot();
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        if (!FinalDotSent) onProgress();
    }

    public void Dispose() { }
}
