using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Search;
using MailKit.Security;

namespace RetentionCampaigns.Mail.Bounces;

public enum MailboxProtocol { Imap, Pop3 }

/// <summary>The mailbox bounces and feedback reports arrive in (section <c>Mail:Bounces:Mailbox</c>); not read when no host is set.</summary>
public sealed record BounceMailboxOptions
{
    public MailboxProtocol Protocol { get; set; } = MailboxProtocol.Imap;
    public string? Host { get; set; }
    /// <summary>0: the protocol's usual port (993 or 995 with TLS, 143 or 110 otherwise).</summary>
    public int Port { get; set; }
    public SmtpSecurity Security { get; set; } = SmtpSecurity.Tls;
    public string? UserName { get; set; }
    public string? Password { get; set; }
    /// <summary>An OAuth 2.0 access token (XOAUTH2) used instead of the password.</summary>
    public string? AccessToken { get; set; }
    /// <summary>The IMAP folder to read (POP3 has only one).</summary>
    public string Folder { get; set; } = "INBOX";
    /// <summary>SHA-256 fingerprint of a certificate to accept although it does not validate (a local server's own).</summary>
    public string? TrustedCertificateSha256 { get; set; }
    /// <summary>At most this many messages per reading; the rest wait for the next.</summary>
    public int BatchSize { get; set; } = 500;
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    [System.Text.Json.Serialization.JsonIgnore] // derived, not a setting
    public bool Enabled => !string.IsNullOrWhiteSpace(Host);
}

/// <summary>One message as it lay in the mailbox: its raw bytes and the key to delete it by once it is recorded.</summary>
public sealed record MailboxMessage(string Key, byte[] Raw);

/// <summary>
/// A session with the bounce mailbox over IMAP or POP3 (MailKit): list what is there, then delete each message
/// only after the caller has recorded it, so a crash in between reads it again instead of losing it.
/// </summary>
public sealed class BounceMailbox : IAsyncDisposable
{
    readonly BounceMailboxOptions options;
    readonly ImapClient? imap;
    readonly Pop3Client? pop3;
    IMailFolder? folder;
    bool expunge;

    BounceMailbox(BounceMailboxOptions options)
    {
        this.options = options;
        var timeout = (int)options.Timeout.TotalMilliseconds;
        if (options.Protocol == MailboxProtocol.Imap) imap = new ImapClient { Timeout = timeout, CheckCertificateRevocation = false, ServerCertificateValidationCallback = TrustedCertificates.Validator(options.TrustedCertificateSha256) };
        else pop3 = new Pop3Client { Timeout = timeout, CheckCertificateRevocation = false, ServerCertificateValidationCallback = TrustedCertificates.Validator(options.TrustedCertificateSha256) };
    }

    MailService Client => (MailService?)imap ?? pop3!;

    public static async Task<BounceMailbox> OpenAsync(BounceMailboxOptions options, CancellationToken ct)
    {
        var mailbox = new BounceMailbox(options);
        try
        {
            var security = options.Security switch
            {
                SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
                SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                SmtpSecurity.StartTlsWhenAvailable => SecureSocketOptions.StartTlsWhenAvailable,
                _ => SecureSocketOptions.None,
            };
            await mailbox.Client.ConnectAsync(options.Host ?? "", options.Port, security, ct);
            if (!string.IsNullOrEmpty(options.AccessToken))
                await mailbox.Client.AuthenticateAsync(new SaslMechanismOAuth2(options.UserName ?? "", options.AccessToken), ct);
            else
                await mailbox.Client.AuthenticateAsync(options.UserName ?? "", options.Password ?? "", ct);
            if (mailbox.imap is not null)
            {
                mailbox.folder = await mailbox.imap.GetFolderAsync(options.Folder, ct);
                await mailbox.folder.OpenAsync(FolderAccess.ReadWrite, ct);
            }
            return mailbox;
        }
        catch
        {
            await mailbox.DisposeAsync();
            throw;
        }
    }

    /// <summary>The mailbox is unreachable or refuses us: nothing is lost, the next reading tries again.</summary>
    public static bool IsUnreachable(Exception e) => e is IOException or ProtocolException or CommandException or AuthenticationException
        or System.Net.Sockets.SocketException or SslHandshakeException or TimeoutException or FolderNotFoundException;

    /// <summary>Up to <see cref="BounceMailboxOptions.BatchSize"/> messages, oldest first.</summary>
    public async Task<List<MailboxMessage>> FetchAsync(CancellationToken ct)
    {
        var messages = new List<MailboxMessage>();
        if (imap is not null)
        {
            var uids = await folder!.SearchAsync(SearchQuery.NotDeleted, ct);
            foreach (var uid in uids.Take(options.BatchSize))
            {
                await using var stream = await folder.GetStreamAsync(uid, ct);
                messages.Add(new MailboxMessage(uid.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), await ReadAllAsync(stream, ct)));
            }
        }
        else
        {
            var count = Math.Min(await pop3!.GetMessageCountAsync(ct), options.BatchSize);
            for (var i = 0; i < count; i++)
            {
                await using var stream = await pop3.GetStreamAsync(i, false, ct);
                messages.Add(new MailboxMessage(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await ReadAllAsync(stream, ct)));
            }
        }
        return messages;
    }

    /// <summary>Marks a recorded message deleted; it goes when the session ends (IMAP expunge, POP3 QUIT).</summary>
    public async Task DeleteAsync(MailboxMessage message, CancellationToken ct)
    {
        var key = int.Parse(message.Key, System.Globalization.CultureInfo.InvariantCulture);
        if (imap is not null)
        {
            await folder!.AddFlagsAsync(new UniqueId((uint)key), MessageFlags.Deleted, silent: true, ct);
            expunge = true;
        }
        else await pop3!.DeleteMessageAsync(key, ct);
    }

    static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (folder is { IsOpen: true } && expunge) await folder.ExpungeAsync();
            if (Client.IsConnected) await Client.DisconnectAsync(true);
        }
        catch (Exception e) when (e is IOException or ServiceNotConnectedException or ProtocolException or CommandException)
        {
            // Whatever was not expunged is read again next time and recognised as already recorded.
        }
        Client.Dispose();
    }
}
