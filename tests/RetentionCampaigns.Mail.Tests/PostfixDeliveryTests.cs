using System.Diagnostics;
using System.Security.Cryptography;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>
/// A real Postfix on the loopback (started by tests/run.sh) takes a message over STARTTLS and delivers it into a
/// local mailbox. Its certificate is Debian's self-signed snakeoil one, trusted here by its fingerprint.
/// </summary>
public sealed class PostfixDeliveryTests
{
    static readonly string Mailbox = Environment.GetEnvironmentVariable("RC_TEST_MAILBOX") ?? "/var/mail/rcmail";
    static readonly string Address = Environment.GetEnvironmentVariable("RC_TEST_MAILBOX_ADDRESS") ?? "rcmail@localhost.localdomain";

    static string? PostfixCertificateSha256()
    {
        var start = new ProcessStartInfo("/usr/sbin/postconf") { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add("-h");
        start.ArgumentList.Add("smtpd_tls_cert_file");
        using var process = Process.Start(start)!;
        var file = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        if (!File.Exists(file)) return null;
        var text = File.ReadAllText(file);
        var pem = PemEncoding.Find(text);
        return Convert.ToHexString(SHA256.HashData(Convert.FromBase64String(text[pem.Base64Data])));
    }

    [Fact]
    public async Task PostfixDeliversAMessageIntoTheLocalMailbox()
    {
        var fingerprint = PostfixCertificateSha256();
        var options = new SmtpOptions
        {
            Host = "127.0.0.1", Port = 25, ClientName = "rc-test.localdomain",
            Security = fingerprint is null ? SmtpSecurity.StartTlsWhenAvailable : SmtpSecurity.StartTls,
            TrustedCertificateSha256 = fingerprint,
        };
        await using var transport = new SmtpTransport(options);
        var marker = Guid.NewGuid().ToString("N");
        var message = Messages.Sample($"Zustellung {marker}: Grüße", Address);
        var result = await transport.SendAsync(message, CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(Mailbox) && (await File.ReadAllTextAsync(Mailbox)).Contains($"Message-ID: <{result.MessageId}>", StringComparison.Ordinal))
                return;
            await Task.Delay(200);
        }
        Assert.Fail($"Message <{result.MessageId}> did not arrive in {Mailbox} within 30 s (Postfix said: {result.Reply}).");
    }
}
