using System.Diagnostics;
using System.Security.Cryptography;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>A self-signed certificate for localhost, made with openssl, and its SHA-256 fingerprint.</summary>
public sealed class TestCertificate : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "rc-cert-" + Guid.NewGuid().ToString("N"));
    public string CertFile => Path.Combine(Directory, "cert.pem");
    public string KeyFile => Path.Combine(Directory, "key.pem");
    public string Sha256 { get; }

    public TestCertificate()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var start = new ProcessStartInfo("openssl") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "2",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", KeyFile, "-out", CertFile })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException("openssl failed: " + error);
        var pem = PemEncoding.Find(File.ReadAllText(CertFile));
        var der = Convert.FromBase64String(File.ReadAllText(CertFile)[pem.Base64Data]);
        Sha256 = Convert.ToHexString(SHA256.HashData(der));
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public static class Messages
{
    public static OutgoingMessage Sample(string subject = "Grüße aus Köln: 12,50 € Rabatt", string? to = null) => new()
    {
        Frame = Frame,
        To = [EmailAddress.Parse(to ?? "jörg@bücher.example", "Jörg Weiß")],
        Date = new DateTimeOffset(2026, 11, 22, 8, 15, 0, TimeSpan.FromHours(1)),
        Subject = subject,
        TextBody = "Hallo Jörg,\n.Punkt am Anfang\nÜbergrößen: 12,50 €\n",
        HtmlBody = "<p>Hallo J&ouml;rg,</p>\n<p>.Punkt</p>",
        UnsubscribeUrl = "https://mail.shop.example/u/TOKEN",
        Headers = [new("X-RC-Delivery", "7-42")],
    };

    public static readonly MessageFrame Frame = new(EmailAddress.Parse("news@shop.example", "Müller & Söhne"),
        EmailAddress.Parse("service@shop.example", "Kundenservice"), [new("X-Campaign", "Frühling")]);
}
