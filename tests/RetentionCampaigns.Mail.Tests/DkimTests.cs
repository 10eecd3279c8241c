using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>DKIM signatures (RSA-SHA256 through .NET's RSA, Ed25519) checked by dkimpy, an independent verifier.</summary>
public sealed class DkimTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rc-dkim-" + Guid.NewGuid().ToString("N"));

    public DkimTests() => Directory.CreateDirectory(folder);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>An RSA key file and its DNS record.</summary>
    (string KeyFile, string Record) RsaKey()
    {
        using var rsa = RSA.Create(2048);
        var file = Path.Combine(folder, "rsa.pem");
        File.WriteAllText(file, rsa.ExportRSAPrivateKeyPem());
        return (file, $"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}");
    }

    /// <summary>An Ed25519 key made by openssl, and its DNS record (the raw 32-byte public key, RFC 8463).</summary>
    (string KeyFile, string Record) Ed25519Key()
    {
        var file = Path.Combine(folder, "ed25519.pem");
        Run("openssl", "genpkey", "-algorithm", "ed25519", "-out", file);
        var publicDer = Path.Combine(folder, "ed25519.pub.der");
        Run("openssl", "pkey", "-in", file, "-pubout", "-outform", "DER", "-out", publicDer);
        var der = File.ReadAllBytes(publicDer);
        return (file, $"v=DKIM1; k=ed25519; p={Convert.ToBase64String(der[^32..])}");
    }

    static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} failed: {output}");
        return output;
    }

    static bool Verifies(string file, string record)
    {
        var start = new ProcessStartInfo(ExternalServer.Python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "verify_dkim.py"), file, "mail2026._domainkey.shop.example", record })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode is 0 or 1, $"dkimpy could not check the message: {output}");
        return process.ExitCode == 0;
    }

    static DkimOptions Options(string keyFile, string algorithm = "rsa-sha256") =>
        new() { Domain = "shop.example", Selector = "mail2026", KeyFile = keyFile, Algorithm = algorithm };

    [Theory]
    [InlineData("rsa-sha256")]
    [InlineData("ed25519-sha256")]
    public async Task ASignedMessageVerifiesAndATamperedOneDoesNot(string algorithm)
    {
        var (key, record) = algorithm == "rsa-sha256" ? RsaKey() : Ed25519Key();
        var outbox = Path.Combine(folder, "out");
        var transport = new PickupTransport(outbox, dkim: DkimSigning.Load(Options(key, algorithm)));
        var result = await transport.SendAsync(Messages.Sample(), CancellationToken.None);
        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        var file = Directory.GetFiles(outbox, "*.eml").Single();
        var raw = await File.ReadAllTextAsync(file);
        var unfolded = System.Text.RegularExpressions.Regex.Replace(raw, @"\r\n[ \t]+", " ");
        Assert.StartsWith("DKIM-Signature: v=1; a=" + algorithm + "; d=shop.example; s=mail2026; c=relaxed/relaxed;", unfolded);
        var signed = System.Text.RegularExpressions.Regex.Match(unfolded, @"; h=([^;]+);").Groups[1].Value.Replace(" ", "").ToLowerInvariant().Split(':');
        foreach (var header in new[] { "from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post" })
            Assert.Contains(header, signed);
        Assert.True(Verifies(file, record), "dkimpy did not verify the signature");

        // Relaxed canonicalization forgives folding, not a changed value.
        var tampered = Path.Combine(folder, "tampered.eml");
        await File.WriteAllTextAsync(tampered, raw.Replace("/u/TOKEN", "/u/OTHER")); // a signed header
        Assert.NotEqual(raw, await File.ReadAllTextAsync(tampered));
        Assert.False(Verifies(tampered, record));
    }

    [Fact]
    public async Task ASignedMessageStillVerifiesAfterGoingThroughSmtp()
    {
        var (key, record) = RsaKey();
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received);
        await using var transport = new SmtpTransport(new SmtpOptions { Host = "127.0.0.1", Port = recorder.Port, Security = SmtpSecurity.None },
            DkimSigning.Load(Options(key)));
        // Lines starting with a dot and long lines: dot-stuffing and folding must not touch what was signed.
        var message = Messages.Sample() with { TextBody = ".Punkt\n..zwei\n" + new string('x', 300) + "\nEnde", HtmlBody = "<p>.x</p>\n" + new string('y', 200) };
        var result = await transport.SendAsync(message, CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        Assert.True(Verifies(Path.Combine(received, "1.eml"), record), "the signature did not survive SMTP");
        Assert.Equal("news@shop.example", JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(received, "1.json"))).RootElement.GetProperty("mailFrom").GetString());
    }

    [Fact]
    public void AMistakeInTheConfigurationIsAClearErrorAtStart()
    {
        Assert.Contains("together", Assert.Throws<InvalidOperationException>(() => DkimSigning.Load(new DkimOptions { Domain = "shop.example" })).Message);
        Assert.Contains("does not exist", Assert.Throws<InvalidOperationException>(() => DkimSigning.Load(Options("/nonexistent/key.pem"))).Message);
        var notAKey = Path.Combine(folder, "not-a-key.pem");
        File.WriteAllText(notAKey, "hello");
        Assert.Contains("no RSA private key", Assert.Throws<InvalidOperationException>(() => DkimSigning.Load(Options(notAKey))).Message);
        var (key, _) = RsaKey();
        Assert.Contains("rsa-sha256 or ed25519-sha256", Assert.Throws<InvalidOperationException>(() => DkimSigning.Load(Options(key, "rsa-sha1"))).Message);
    }
}
