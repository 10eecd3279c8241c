using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace RetentionCampaigns.Mail;

/// <summary>One SMTP reply: the code, the enhanced status code when the server gives one (RFC 3463), and its lines.</summary>
public sealed record SmtpReply(int Code, string? EnhancedStatus, IReadOnlyList<string> Lines)
{
    public string Text => string.Join(" ", Lines);
    public bool IsPositive => Code is >= 200 and < 400;
    public override string ToString() => $"{Code} {(EnhancedStatus is null ? "" : EnhancedStatus + " ")}{Text}".TrimEnd();
}

/// <summary>The connection cannot be used: the server went away, timed out, refused TLS or AUTH, or spoke nonsense.</summary>
public sealed class SmtpConnectionException(string message, SmtpReply? reply = null, Exception? inner = null) : Exception(message, inner)
{
    public SmtpReply? Reply { get; } = reply;
}

/// <summary>
/// One client connection (RFC 5321): greeting, EHLO and its extensions, TLS (implicit or STARTTLS), AUTH, and
/// mail transactions, pipelined when the server offers PIPELINING (RFC 2920). Not thread-safe: the pool hands a
/// connection to one sender at a time. The socket has Nagle's algorithm off: with it, every command waits for the
/// peer's delayed ACK (the BCL client's 23 messages/s).
/// </summary>
public sealed class SmtpConnection : IAsyncDisposable
{
    readonly SmtpOptions options;
    readonly Socket socket;
    Stream stream;
    readonly byte[] buffer = new byte[16 * 1024];
    int bufferStart, bufferEnd;
    bool transactionDirty;

    public bool Pipelining { get; private set; }
    public long? MaxSize { get; private set; }
    public bool EightBitMime { get; private set; }
    public bool SmtpUtf8 { get; private set; }
    public bool EnhancedStatusCodes { get; private set; }
    public bool IsEncrypted => stream is SslStream;
    public IReadOnlySet<string> AuthMechanisms { get; private set; } = new HashSet<string>();
    /// <summary>False once anything went wrong on the wire: the pool then closes it instead of reusing it.</summary>
    public bool Usable { get; private set; } = true;
    public int MessagesSent { get; private set; }
    public DateTime LastUsed { get; private set; } = DateTime.UtcNow;

    SmtpConnection(SmtpOptions options, Socket socket)
    {
        this.options = options;
        this.socket = socket;
        stream = Stream.Null; // until connected
    }

    public static async Task<SmtpConnection> OpenAsync(SmtpOptions options, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connection = new SmtpConnection(options, socket);
        try
        {
            using (var timeout = Timeout(options.ConnectTimeout, ct))
            {
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
            connection.stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Security == SmtpSecurity.Tls) await connection.StartTlsAsync(ct);
            var greeting = await connection.ReadReplyAsync(options.CommandTimeout, ct);
            if (greeting.Code != 220) throw new SmtpConnectionException($"The server greeted with {greeting}.", greeting);
            await connection.HelloAsync(ct);
            if (!connection.IsEncrypted && options.Security is SmtpSecurity.StartTls or SmtpSecurity.StartTlsWhenAvailable)
            {
                if (connection.offersStartTls)
                {
                    var reply = await connection.CommandAsync("STARTTLS", ct);
                    if (reply.Code != 220) throw new SmtpConnectionException($"STARTTLS was refused: {reply}.", reply);
                    await connection.StartTlsAsync(ct);
                    await connection.HelloAsync(ct); // RFC 3207: forget what was learnt before TLS
                }
                else if (options.Security == SmtpSecurity.StartTls)
                    throw new SmtpConnectionException($"{options.Host} does not offer STARTTLS, and the configuration requires it.");
            }
            if (!string.IsNullOrEmpty(options.UserName)) await connection.AuthenticateAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    bool offersStartTls;

    async Task HelloAsync(CancellationToken ct)
    {
        var name = options.ClientName ?? System.Net.Dns.GetHostName();
        var reply = await CommandAsync($"EHLO {name}", ct);
        if (reply.Code != 250) throw new SmtpConnectionException($"EHLO was refused: {reply}.", reply);
        offersStartTls = Pipelining = EightBitMime = SmtpUtf8 = EnhancedStatusCodes = false;
        MaxSize = null;
        var mechanisms = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in reply.Lines.Skip(1))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0) continue;
            switch (words[0].ToUpperInvariant())
            {
                case "PIPELINING": Pipelining = true; break;
                case "8BITMIME": EightBitMime = true; break;
                case "SMTPUTF8": SmtpUtf8 = true; break;
                case "ENHANCEDSTATUSCODES": EnhancedStatusCodes = true; break;
                case "STARTTLS": offersStartTls = true; break;
                case "SIZE": MaxSize = words.Length > 1 && long.TryParse(words[1], out var size) && size > 0 ? size : null; break;
                case "AUTH": foreach (var mechanism in words.Skip(1)) mechanisms.Add(mechanism); break;
            }
        }
        AuthMechanisms = mechanisms;
    }

    async Task StartTlsAsync(CancellationToken ct)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false, ValidateCertificate);
        using var timeout = Timeout(options.CommandTimeout, ct);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = options.Host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, timeout.Token);
        }
        catch (AuthenticationException e)
        {
            throw new SmtpConnectionException($"TLS with {options.Host} failed: {e.Message} (a local relay's own certificate can be trusted with TrustedCertificateSha256).", inner: e);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new SmtpConnectionException("The TLS handshake timed out.");
        }
        stream = ssl;
        bufferStart = bufferEnd = 0;
    }

    bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || string.IsNullOrWhiteSpace(options.TrustedCertificateSha256)) return false;
        var fingerprint = Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));
        var trusted = options.TrustedCertificateSha256.Replace(":", "").Replace(" ", "");
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fingerprint), Encoding.ASCII.GetBytes(trusted.ToUpperInvariant()));
    }

    async Task AuthenticateAsync(CancellationToken ct)
    {
        if (!IsEncrypted && !options.AllowAuthWithoutTls)
            throw new SmtpConnectionException("AUTH would send the password without TLS; use TLS or STARTTLS, or set AllowAuthWithoutTls for a trusted local relay.");
        var user = options.UserName!;
        var password = options.Password ?? "";
        SmtpReply reply;
        if (AuthMechanisms.Contains("PLAIN"))
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            reply = await CommandAsync($"AUTH PLAIN {token}", ct);
        }
        else if (AuthMechanisms.Contains("LOGIN"))
        {
            reply = await CommandAsync("AUTH LOGIN", ct);
            if (reply.Code == 334) reply = await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(user)), ct);
            if (reply.Code == 334) reply = await CommandAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), ct);
        }
        else throw new SmtpConnectionException($"{options.Host} offers no AUTH PLAIN or LOGIN (it offers: {string.Join(" ", AuthMechanisms)}).");
        if (reply.Code != 235) throw new SmtpConnectionException($"Authentication failed: {reply}.", reply);
    }

    /// <summary>
    /// One mail transaction. Envelope and DATA go in one write when the server pipelines (a stale failed
    /// transaction is reset in the same write); then the dot-stuffed message and the final dot.
    /// </summary>
    public async Task<SendResult> SendAsync(string messageId, string from, IReadOnlyList<string> recipients, byte[] data, bool needsSmtpUtf8,
        CancellationToken ct)
    {
        LastUsed = DateTime.UtcNow;
        if (MaxSize is { } max && data.Length > max)
            return new SendResult(SendOutcome.Permanent, messageId, 552, "5.3.4", $"The message is {data.Length:N0} bytes; {options.Host} takes at most {max:N0}.");
        if (needsSmtpUtf8 && !SmtpUtf8)
            return new SendResult(SendOutcome.Permanent, messageId, 553, "5.6.7", $"An address needs SMTPUTF8, which {options.Host} does not offer.");

        var parameters = new StringBuilder();
        if (MaxSize is not null) parameters.Append(" SIZE=").Append(data.Length);
        if (needsSmtpUtf8) parameters.Append(EightBitMime ? " BODY=8BITMIME SMTPUTF8" : " SMTPUTF8");
        var commands = new List<string>();
        if (transactionDirty) commands.Add("RSET");
        commands.Add($"MAIL FROM:<{from}>{parameters}");
        commands.AddRange(recipients.Select(r => $"RCPT TO:<{r}>"));
        commands.Add("DATA");

        var replies = new List<SmtpReply>();
        transactionDirty = true;
        try
        {
            if (Pipelining)
            {
                await WriteAsync(string.Concat(commands.Select(c => c + "\r\n")), ct);
                foreach (var _ in commands)
                {
                    var reply = await ReadReplyAsync(options.CommandTimeout, ct);
                    replies.Add(reply);
                    if (reply.Code == 421) break; // the server is closing: no more replies will come
                }
            }
            else
            {
                // One command at a time: stop at a refused MAIL, and send DATA only when a recipient was accepted.
                foreach (var command in commands)
                {
                    if (command == "DATA" && !replies.Skip(commands[0] == "RSET" ? 2 : 1).Any(r => r.IsPositive)) break;
                    var reply = await CommandAsync(command, ct);
                    replies.Add(reply);
                    if (!reply.IsPositive && !command.StartsWith("RCPT", StringComparison.Ordinal)) break;
                }
            }
        }
        catch (SmtpConnectionException exception)
        {
            Usable = false;
            return new SendResult(SendOutcome.Transient, messageId, exception.Reply?.Code, exception.Reply?.EnhancedStatus, exception.Message);
        }

        var offset = commands[0] == "RSET" ? 1 : 0;
        if (offset == 1 && !replies[0].IsPositive)
        {
            Usable = false;
            return Failed(messageId, replies[0]) with { Outcome = SendOutcome.Transient };
        }
        var mail = replies[offset];
        if (replies[^1].Code == 421)
        {
            Usable = false;
            return Failed(messageId, replies[^1]);
        }
        if (!mail.IsPositive) return await FailAsync(messageId, mail, replies, commands.Count, ct);
        var recipientReplies = replies.Skip(offset + 1).Take(recipients.Count).ToList();
        var accepted = recipientReplies.Count(r => r.IsPositive);
        if (accepted == 0) return await FailAsync(messageId, recipientReplies.FirstOrDefault() ?? mail, replies, commands.Count, ct);
        if (replies.Count < commands.Count) return Failed(messageId, replies[^1]);
        var dataReply = replies[^1];
        if (dataReply.Code != 354) return Failed(messageId, dataReply);

        // From here on, a lost connection leaves the message's fate unknown once the final dot is out.
        var finalDotSent = false;
        try
        {
            await WriteDataAsync(data, () => finalDotSent = true, ct);
            var final = await ReadReplyAsync(options.DataTimeout, ct);
            if (final.Code == 421) Usable = false;
            if (!final.IsPositive) return Failed(messageId, final);
            transactionDirty = false;
            MessagesSent++;
            var rejected = recipientReplies.Where(r => !r.IsPositive).ToList();
            return new SendResult(SendOutcome.Accepted, messageId, final.Code, final.EnhancedStatus,
                rejected.Count == 0 ? final.ToString() : $"{final}; refused recipients: {string.Join("; ", rejected)}");
        }
        catch (SmtpConnectionException exception)
        {
            Usable = false;
            return finalDotSent
                ? new SendResult(SendOutcome.InDoubt, messageId, null, null, $"The connection was lost after the message was sent and before the server replied: {exception.Message}")
                : new SendResult(SendOutcome.Transient, messageId, null, null, exception.Message);
        }
    }

    /// <summary>A refusal before DATA: if the server still said 354 to a pipelined DATA, end the empty message.</summary>
    async Task<SendResult> FailAsync(string messageId, SmtpReply refusal, List<SmtpReply> replies, int commands, CancellationToken ct)
    {
        if (replies.Count == commands && replies[^1].Code == 354)
        {
            try
            {
                await WriteAsync(".\r\n", ct);
                await ReadReplyAsync(options.CommandTimeout, ct);
            }
            catch (SmtpConnectionException) { Usable = false; }
        }
        return Failed(messageId, refusal);
    }

    static SendResult Failed(string messageId, SmtpReply reply) =>
        new(reply.Code >= 500 ? SendOutcome.Permanent : SendOutcome.Transient, messageId, reply.Code, reply.EnhancedStatus, reply.ToString());

    /// <summary>The message with every line-leading "." doubled (RFC 5321 4.5.2), then CRLF "." CRLF.</summary>
    async Task WriteDataAsync(byte[] data, Action finalDotSent, CancellationToken ct)
    {
        var extra = data.Length > 0 && data[0] == '.' ? 1 : 0;
        for (var i = 2; i < data.Length; i++)
            if (data[i] == '.' && data[i - 1] == '\n' && data[i - 2] == '\r') extra++;
        var endsWithLine = data.Length >= 2 && data[^2] == '\r' && data[^1] == '\n';
        var stuffed = new byte[data.Length + extra + (endsWithLine ? 3 : 5)];
        var at = 0;
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] == '.' && (i == 0 || i >= 2 && data[i - 1] == '\n' && data[i - 2] == '\r')) stuffed[at++] = (byte)'.';
            stuffed[at++] = data[i];
        }
        if (!endsWithLine) { stuffed[at++] = (byte)'\r'; stuffed[at++] = (byte)'\n'; }
        stuffed[at++] = (byte)'.'; stuffed[at++] = (byte)'\r'; stuffed[at] = (byte)'\n';
        using var timeout = Timeout(options.DataTimeout, ct);
        try
        {
            await stream.WriteAsync(stuffed, timeout.Token);
            finalDotSent();
            await stream.FlushAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new SmtpConnectionException($"Sending the message failed: {e.Message}", inner: e);
        }
    }

    async Task<SmtpReply> CommandAsync(string command, CancellationToken ct)
    {
        await WriteAsync(command + "\r\n", ct);
        return await ReadReplyAsync(options.CommandTimeout, ct);
    }

    async Task WriteAsync(string text, CancellationToken ct)
    {
        using var timeout = Timeout(options.CommandTimeout, ct);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token);
            await stream.FlushAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException || e is OperationCanceledException && !ct.IsCancellationRequested)
        {
            Usable = false;
            throw new SmtpConnectionException($"Writing to {options.Host} failed: {e.Message}", inner: e);
        }
    }

    /// <summary>A reply of one or more lines ("250-..." continues, "250 ..." ends), with its enhanced status code.</summary>
    async Task<SmtpReply> ReadReplyAsync(TimeSpan limit, CancellationToken ct)
    {
        using var timeout = Timeout(limit, ct);
        var lines = new List<string>();
        var code = 0;
        try
        {
            while (true)
            {
                var line = await ReadLineAsync(timeout.Token);
                if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var lineCode) || line.Length > 3 && line[3] is not (' ' or '-'))
                    throw new SmtpConnectionException($"The server sent a malformed reply line: '{Truncate(line)}'.");
                if (code != 0 && lineCode != code) throw new SmtpConnectionException($"A multi-line reply changed its code from {code} to {lineCode}.");
                code = lineCode;
                lines.Add(line.Length > 4 ? line[4..] : "");
                if (line.Length == 3 || line[3] == ' ') break;
                if (lines.Count > 1000) throw new SmtpConnectionException("A reply had more than 1000 lines.");
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Usable = false;
            throw new SmtpConnectionException($"{options.Host} did not reply within {limit.TotalSeconds:0} s.");
        }
        catch (SmtpConnectionException)
        {
            Usable = false;
            throw;
        }
        string? enhanced = null;
        if (lines.Count > 0 && code >= 200)
        {
            // "x.y.z text" with x matching the reply's class (RFC 2034); only then is it an enhanced status code.
            var first = lines[0];
            var space = first.IndexOf(' ');
            var candidate = space < 0 ? first : first[..space];
            var parts = candidate.Split('.');
            if (parts.Length == 3 && parts[0] == (code / 100).ToString() && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)))
            {
                enhanced = candidate;
                for (var i = 0; i < lines.Count; i++)
                    if (lines[i].StartsWith(candidate + " ", StringComparison.Ordinal) || lines[i] == candidate) lines[i] = lines[i][candidate.Length..].TrimStart();
            }
        }
        return new SmtpReply(code, enhanced, lines);
    }

    static string Truncate(string text) => text.Length > 100 ? text[..100] + "..." : text;

    async Task<string> ReadLineAsync(CancellationToken ct)
    {
        var line = new List<byte>(128);
        while (true)
        {
            if (bufferStart == bufferEnd)
            {
                int read;
                try { read = await stream.ReadAsync(buffer, ct); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    throw new SmtpConnectionException($"The connection to {options.Host} was lost: {e.Message}", inner: e);
                }
                if (read == 0) throw new SmtpConnectionException($"{options.Host} closed the connection.");
                bufferStart = 0;
                bufferEnd = read;
            }
            var span = buffer.AsSpan(bufferStart, bufferEnd - bufferStart);
            var newline = span.IndexOf((byte)'\n');
            if (newline < 0)
            {
                line.AddRange(span.ToArray());
                bufferStart = bufferEnd;
            }
            else
            {
                line.AddRange(span[..newline].ToArray());
                bufferStart += newline + 1;
                if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                return Encoding.UTF8.GetString(line.ToArray());
            }
            if (line.Count > 8192) throw new SmtpConnectionException("A reply line was longer than 8 KB.");
        }
    }

    static CancellationTokenSource Timeout(TimeSpan limit, CancellationToken ct)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(ct);
        source.CancelAfter(limit);
        return source;
    }

    public async ValueTask DisposeAsync()
    {
        if (Usable)
        {
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await stream.WriteAsync("QUIT\r\n"u8.ToArray(), quick.Token);
                await stream.FlushAsync(quick.Token);
            }
            catch (Exception) { /* closing anyway */ }
        }
        Usable = false;
        await stream.DisposeAsync();
        socket.Dispose();
    }
}
