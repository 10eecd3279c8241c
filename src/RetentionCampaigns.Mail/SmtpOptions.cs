namespace RetentionCampaigns.Mail;

public enum SmtpSecurity
{
    /// <summary>Plain text; never AUTH unless <see cref="SmtpOptions.AllowAuthWithoutTls"/>.</summary>
    None,
    /// <summary>Implicit TLS from the first byte (port 465, RFC 8314).</summary>
    Tls,
    /// <summary>STARTTLS (RFC 3207) is required: a server that does not offer it is an error.</summary>
    StartTls,
    /// <summary>STARTTLS when the server offers it, plain text otherwise.</summary>
    StartTlsWhenAvailable,
}

/// <summary>Where and how to submit mail (section <c>Mail:Smtp</c> in the app).</summary>
public sealed record SmtpOptions
{
    public string Host { get; set; } = "localhost";
    public int Port { get; set; } = 25;
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTlsWhenAvailable;
    public string? UserName { get; set; }
    public string? Password { get; set; }
    /// <summary>
    /// An OAuth 2.0 access token for XOAUTH2 (Microsoft 365, Gmail relays) with <see cref="UserName"/>; used instead
    /// of the password. Tokens expire: whoever configures it renews it (the app reads it at start).
    /// </summary>
    public string? AccessToken { get; set; }
    /// <summary>Lets AUTH send the password without TLS; only for a relay on a trusted network.</summary>
    public bool AllowAuthWithoutTls { get; set; }
    /// <summary>
    /// SHA-256 fingerprint (hex) of a certificate to accept although it does not validate, e.g. a local relay's
    /// self-signed one. Every other certificate is validated as usual.
    /// </summary>
    public string? TrustedCertificateSha256 { get; set; }
    /// <summary>How many connections the pool keeps to this server; each carries one message at a time.</summary>
    public int PoolSize { get; set; } = 4;
    /// <summary>The name we give in EHLO; the machine's host name by default.</summary>
    public string? ClientName { get; set; }
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Per command reply (RFC 5321 4.5.3.2 allows servers minutes; a pool would rather give up and retry).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>For the reply after the message's final dot, when the server may be scanning it.</summary>
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>A pooled connection idle for longer is closed rather than reused (servers drop idle clients).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Messages per connection before it is closed and replaced.</summary>
    public int MaxMessagesPerConnection { get; set; } = 1000;
}
