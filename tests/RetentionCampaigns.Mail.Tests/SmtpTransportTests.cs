using System.Text.Json;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>The SMTP client against real peers: Postfix's smtp-sink and an aiosmtpd recording server.</summary>
public sealed class SmtpTransportTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rc-smtp-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    static SmtpOptions Options(ExternalServer server, SmtpSecurity security = SmtpSecurity.None) => new()
    {
        Host = "127.0.0.1", Port = server.Port, Security = security, ClientName = "rc-test.localdomain",
        CommandTimeout = TimeSpan.FromSeconds(10), DataTimeout = TimeSpan.FromSeconds(10),
    };

    static OutgoingMessage Ascii(int n = 0) => Messages.Sample(to: $"anna{n}@example.com");

    [Theory]
    [InlineData(new string[0], SendOutcome.Accepted, 250)]
    [InlineData(new[] { "-p" }, SendOutcome.Accepted, 250)]
    [InlineData(new[] { "-r", "RCPT" }, SendOutcome.Transient, 450)]
    [InlineData(new[] { "-f", "RCPT" }, SendOutcome.Permanent, 500)]
    [InlineData(new[] { "-f", "MAIL" }, SendOutcome.Permanent, 500)]
    [InlineData(new[] { "-r", "MAIL" }, SendOutcome.Transient, 450)]
    [InlineData(new[] { "-f", "DATA" }, SendOutcome.Permanent, 500)]
    [InlineData(new[] { "-r", "." }, SendOutcome.Transient, 450)]
    [InlineData(new[] { "-f", "." }, SendOutcome.Permanent, 500)]
    [InlineData(new[] { "-Q", "MAIL" }, SendOutcome.Transient, 421)]
    [InlineData(new[] { "-Q", "." }, SendOutcome.Transient, 421)]
    [InlineData(new[] { "-q", "MAIL" }, SendOutcome.Transient, null)]
    [InlineData(new[] { "-q", "." }, SendOutcome.InDoubt, null)]
    [InlineData(new[] { "-A", "0" }, SendOutcome.Permanent, 550)]
    public async Task EachOutcomeOfSmtpSinkIsClassified(string[] sinkOptions, SendOutcome expected, int? code)
    {
        using var sink = ExternalServer.SmtpSink(sinkOptions);
        await using var transport = new SmtpTransport(Options(sink));
        var result = await transport.SendAsync(Ascii(), CancellationToken.None);
        Assert.True(expected == result.Outcome, $"{string.Join(' ', sinkOptions)}: {result}");
        Assert.Equal(code, result.ReplyCode);
        if (code is 450) Assert.Equal("4.3.0", result.EnhancedStatus);
        if (code is 500) Assert.Equal("5.3.0", result.EnhancedStatus);
        if (expected != SendOutcome.Accepted) Assert.False(string.IsNullOrEmpty(result.Reply));
    }

    [Fact]
    public async Task APoolReusesItsConnectionsForManyMessages()
    {
        using var sink = ExternalServer.SmtpSink();
        await using var transport = new SmtpTransport(Options(sink) with { PoolSize = 4 });
        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => transport.SendAsync(Ascii(i), CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(SendOutcome.Accepted, r.Outcome));
        Assert.InRange(transport.ConnectionsOpened, 1, 4);
    }

    [Fact]
    public async Task AConnectionTheServerDroppedIsReplacedWithoutLosingTheMessage()
    {
        var port = ExternalServer.FreePort();
        var options = new SmtpOptions { Host = "127.0.0.1", Port = port, Security = SmtpSecurity.None, PoolSize = 1 };
        await using var transport = new SmtpTransport(options);
        using (ExternalServer.SmtpSinkOn(port))
            Assert.Equal(SendOutcome.Accepted, (await transport.SendAsync(Ascii(), CancellationToken.None)).Outcome);
        using var restarted = ExternalServer.SmtpSinkOn(port);
        var result = await transport.SendAsync(Ascii(1), CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        Assert.Equal(2, transport.ConnectionsOpened);
    }

    [Fact]
    public async Task NobodyListeningIsATransientFailure()
    {
        await using var transport = new SmtpTransport(new SmtpOptions { Host = "127.0.0.1", Port = ExternalServer.FreePort(), Security = SmtpSecurity.None });
        var result = await transport.SendAsync(Ascii(), CancellationToken.None);
        Assert.Equal(SendOutcome.Transient, result.Outcome);
        Assert.Contains("Could not connect", result.Reply);
    }

    [Fact]
    public async Task TheRecorderReceivesExactlyWhatWasSentWithUmlautsAndSmtpUtf8()
    {
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received);
        await using var transport = new SmtpTransport(Options(recorder));
        var message = Messages.Sample();
        var result = await transport.SendAsync(message, CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());

        var envelope = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(received, "1.json"))).RootElement;
        Assert.Equal("news@shop.example", envelope.GetProperty("mailFrom").GetString());
        // Under SMTPUTF8 MailKit gives the domain in its Unicode form, which RFC 6531 allows.
        Assert.Equal(["jörg@bücher.example"], envelope.GetProperty("rcptTos").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("SMTPUTF8", envelope.GetProperty("mailOptions").EnumerateArray().Select(e => e.GetString()));

        var parsed = PythonMailReader.Read([Path.Combine(received, "1.eml")]).Single();
        Assert.Equal(message.Subject, parsed.Subject);
        Assert.Equal([["Müller & Söhne", "news@shop.example"]], parsed.From);
        Assert.Equal([["Jörg Weiß", "jörg@bücher.example"]], parsed.To);
        Assert.Equal($"<{result.MessageId}>", parsed.MessageId);
        Assert.Equal(message.TextBody, RandomMessages.Lf(parsed.Parts["text/plain"].Content)); // base64 decodes to the CRLF sent
        Assert.Equal(message.HtmlBody, parsed.Parts["text/html"].Content);
        Assert.Equal("<https://mail.shop.example/u/TOKEN>", parsed.ListUnsubscribe);
        Assert.Equal("List-Unsubscribe=One-Click", parsed.ListUnsubscribePost);
        Assert.Equal("Frühling", parsed.Headers["X-Campaign"]);
        Assert.Equal("7-42", parsed.Headers["X-RC-Delivery"]);
        Assert.Equal("Kundenservice <service@shop.example>", parsed.Headers["Reply-To"]);
        Assert.Equal("Sun, 22 Nov 2026 08:15:00 +0100", parsed.Date);
        Assert.Equal("1.0", parsed.Headers["MIME-Version"]);
        Assert.Equal(["Date", "From", "To", "Reply-To", "MIME-Version", "X-Campaign", "Message-ID", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post",
            "X-RC-Delivery", "Content-Type"], parsed.Headers.Keys);
    }

    [Fact]
    public async Task LinesStartingWithADotArriveUnchanged()
    {
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received);
        await using var transport = new SmtpTransport(Options(recorder));
        var text = ".\r\n..\r\n.x\r\nend.\r\n.";
        var result = await transport.SendAsync(Ascii() with { TextBody = text, HtmlBody = null }, CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        var raw = await File.ReadAllTextAsync(Path.Combine(received, "1.eml"));
        Assert.Contains("\r\n.\r\n..\r\n.x\r\n", raw); // 7-bit text goes as it is: the transfer's dot-stuffing kept it whole
        Assert.Equal(text, PythonMailReader.Read([Path.Combine(received, "1.eml")]).Single().Parts["text/plain"].Content.Replace("\n", "\r\n"));
    }

    [Fact]
    public async Task StartTlsWithAuthWorksWithATrustedCertificateAndNotWithout()
    {
        using var certificate = new TestCertificate();
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received, certificate.CertFile, certificate.KeyFile, auth: "shop:s3cret");
        var trusted = Options(recorder, SmtpSecurity.StartTls) with { UserName = "shop", Password = "s3cret", TrustedCertificateSha256 = certificate.Sha256 };

        await using (var transport = new SmtpTransport(trusted))
        {
            var result = await transport.SendAsync(Ascii(), CancellationToken.None);
            Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        }
        var envelope = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(received, "1.json"))).RootElement;
        Assert.True(envelope.GetProperty("tls").GetBoolean());
        Assert.True(envelope.GetProperty("authenticated").GetBoolean());

        await using (var untrusted = new SmtpTransport(trusted with { TrustedCertificateSha256 = null }))
        {
            var result = await untrusted.SendAsync(Ascii(), CancellationToken.None);
            Assert.Equal(SendOutcome.Transient, result.Outcome);
            Assert.Contains("TLS with 127.0.0.1 failed", result.Reply);
        }
        await using (var wrongPassword = new SmtpTransport(trusted with { Password = "wrong" }))
        {
            var result = await wrongPassword.SendAsync(Ascii(), CancellationToken.None);
            Assert.Equal(SendOutcome.Transient, result.Outcome);
            Assert.Contains("Authentication failed: 535", result.Reply);
        }
        await using (var plain = new SmtpTransport(trusted with { Security = SmtpSecurity.None }))
        {
            var result = await plain.SendAsync(Ascii(), CancellationToken.None);
            Assert.Equal(SendOutcome.Transient, result.Outcome);
            Assert.Contains("without TLS", result.Reply);
        }
        Assert.Single(Directory.GetFiles(received, "*.eml"));
    }

    [Fact]
    public async Task ImplicitTlsFromTheFirstByte()
    {
        using var certificate = new TestCertificate();
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received, certificate.CertFile, certificate.KeyFile, implicitTls: true);
        await using var transport = new SmtpTransport(Options(recorder, SmtpSecurity.Tls) with { TrustedCertificateSha256 = certificate.Sha256 });
        var result = await transport.SendAsync(Ascii(), CancellationToken.None);
        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        Assert.True(JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(received, "1.json"))).RootElement.GetProperty("tls").GetBoolean());
    }

    [Fact]
    public async Task TenThousandRandomMessagesArriveIntact()
    {
        var received = Path.Combine(folder, "in");
        using var recorder = ExternalServer.Recorder(received);
        await using var transport = new SmtpTransport(Options(recorder) with { PoolSize = 4 });
        var random = new Random(5321);
        var sent = new Dictionary<string, OutgoingMessage>();
        var messages = Enumerable.Range(0, 10_000).Select(i => Messages.Sample(RandomMessages.Text(random, random.Next(1, 100), false), $"r{i}@example.com") with
        {
            TextBody = RandomMessages.Text(random, random.Next(0, 2000), true),
            HtmlBody = RandomMessages.Text(random, random.Next(1, 2000), true),
            MessageId = $"random-{i}@shop.example",
        }).ToList();
        foreach (var message in messages) sent[$"<{message.MessageId}>"] = message;
        var results = new List<SendResult>();
        foreach (var batch in messages.Chunk(200))
            results.AddRange(await Task.WhenAll(batch.Select(m => transport.SendAsync(m, CancellationToken.None))));
        Assert.All(results, r => Assert.True(r.Outcome == SendOutcome.Accepted, r.ToString()));

        var files = Directory.GetFiles(received, "*.eml");
        Assert.Equal(10_000, files.Length);
        foreach (var parsed in PythonMailReader.Read(files))
        {
            var original = sent[parsed.MessageId];
            Assert.Equal(original.Subject, parsed.Subject);
            Assert.Equal(RandomMessages.Lf(original.TextBody), RandomMessages.Lf(parsed.Parts["text/plain"].Content));
            Assert.Equal(RandomMessages.Lf(original.HtmlBody!), RandomMessages.Lf(parsed.Parts["text/html"].Content));
            Assert.Equal(original.To.Single().Address, parsed.To.Single()[1]);
        }
    }
}
