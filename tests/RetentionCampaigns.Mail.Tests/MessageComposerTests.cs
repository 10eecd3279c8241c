using System.Text;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>Messages made by MimeKit, read back by Python's strict email parser (an independent MIME implementation).</summary>
public sealed class MessageComposerTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), "rc-mime-" + Guid.NewGuid().ToString("N"));
    static readonly DateTimeOffset Now = new(2026, 11, 22, 21, 30, 5, TimeSpan.FromHours(1));

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    static readonly MessageFrame Frame = new(EmailAddress.Parse("news@shop.example", "Müller & Söhne GmbH"), EmailAddress.Parse("service@shop.example"),
        [new("Feedback-ID", "run-7:campaign-3:rc")]);

    static OutgoingMessage Message(string subject, string text, string? html) => new()
    {
        Frame = Frame,
        To = [EmailAddress.Parse("jörg@xn--mller-kva.example", "Jörg \"Jo\" Weiß")],
        Subject = subject,
        TextBody = text,
        HtmlBody = html,
        MessageId = "20261122.abc@shop.example",
        Date = Now,
        UnsubscribeUrl = "https://mail.shop.example/u/AbC-123_x",
        UnsubscribeMailto = "mailto:unsubscribe@shop.example?subject=unsubscribe",
        Headers = [new("X-Campaign", "Frühjahr 2026")],
    };

    async Task<string> WriteAsync(OutgoingMessage message)
    {
        var result = await new PickupTransport(folder).SendAsync(message, CancellationToken.None);
        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        return Directory.GetFiles(folder, "*.eml").Single(f => File.ReadAllText(f).Contains(result.MessageId));
    }

    [Fact]
    public async Task PythonsStrictParserReadsBackEveryHeaderAndBothParts()
    {
        var subject = "Wir vermissen Sie, Jörg: 12,50 € für Ihre nächste Bestellung bei Müller & Söhne (nur bis Sonntag!)";
        var text = "Hallo Jörg,\n\n.eine Zeile mit Punkt\nFrom here\n" + new string('x', 300) + "\nEnde = Schluss \t\n";
        var html = "<p>Hallo J&ouml;rg, 12,50 €</p>\r\n<p>" + string.Concat(Enumerable.Repeat("Grüße ", 40)) + "</p>";
        var file = await WriteAsync(Message(subject, text, html));
        var parsed = PythonMailReader.Read([file]).Single();

        Assert.Equal(subject, parsed.Subject);
        Assert.Equal([["Müller & Söhne GmbH", "news@shop.example"]], parsed.From);
        // A non-ASCII local part makes the header UTF-8 (RFC 6532), where the domain is given in its Unicode form too.
        Assert.Equal([["Jörg \"Jo\" Weiß", "jörg@müller.example"]], parsed.To);
        Assert.Equal("<20261122.abc@shop.example>", parsed.MessageId);
        Assert.Equal("Sun, 22 Nov 2026 21:30:05 +0100", parsed.Date);
        Assert.Equal("<https://mail.shop.example/u/AbC-123_x>, <mailto:unsubscribe@shop.example?subject=unsubscribe>", parsed.ListUnsubscribe);
        Assert.Equal("List-Unsubscribe=One-Click", parsed.ListUnsubscribePost);
        Assert.Equal("Frühjahr 2026", parsed.Headers["X-Campaign"]);
        Assert.Equal("run-7:campaign-3:rc", parsed.Headers["Feedback-ID"]);
        Assert.Equal("multipart/alternative", parsed.ContentType);
        Assert.Equal(text, parsed.Parts["text/plain"].Content);
        Assert.Equal(RandomMessages.Lf(html), RandomMessages.Lf(parsed.Parts["text/html"].Content));
        Assert.Equal("utf-8", parsed.Parts["text/plain"].Charset);
        Assert.Equal("quoted-printable", parsed.Parts["text/plain"].Encoding);
        Assert.True(parsed.MaxLine <= 78, $"longest line {parsed.MaxLine}");
        Assert.Equal(0, parsed.BareLineFeeds);
    }

    [Fact]
    public async Task ATextOnlyMessageIsOnePartAndMostlyNonLatinTextIsBase64()
    {
        var text = string.Concat(Enumerable.Repeat("こんにちは、世界。", 30));
        var file = await WriteAsync(Message("Grüße", text, null));
        var parsed = PythonMailReader.Read([file]).Single();
        Assert.Equal("text/plain", parsed.ContentType);
        Assert.Equal("base64", parsed.Parts["text/plain"].Encoding);
        Assert.Equal(text, parsed.Parts["text/plain"].Content);
    }

    [Fact]
    public async Task FiveHundredRandomMessagesArriveIntact()
    {
        var random = new Random(20261122);
        var expected = new Dictionary<string, (string Subject, string Text, string Html)>();
        for (var i = 0; i < 500; i++)
        {
            var subject = RandomMessages.Text(random, random.Next(1, 120), lines: false);
            var text = RandomMessages.Text(random, random.Next(0, 3000), lines: true);
            var html = RandomMessages.Text(random, random.Next(1, 3000), lines: true);
            var result = await new PickupTransport(folder).SendAsync(Message(subject, text, html) with { MessageId = $"m{i}@shop.example" }, CancellationToken.None);
            expected[$"<{result.MessageId}>"] = (subject, text, html);
        }
        foreach (var parsed in PythonMailReader.Read(Directory.GetFiles(folder, "*.eml")))
        {
            var (subject, text, html) = expected[parsed.MessageId];
            Assert.Equal(subject, parsed.Subject);
            Assert.Equal(RandomMessages.Lf(text), RandomMessages.Lf(parsed.Parts["text/plain"].Content));
            Assert.Equal(RandomMessages.Lf(html), RandomMessages.Lf(parsed.Parts["text/html"].Content));
            Assert.True(parsed.MaxLine <= 78, $"{parsed.File}: longest line {parsed.MaxLine}");
            Assert.Equal(0, parsed.BareLineFeeds);
        }
    }

    [Theory]
    [InlineData("Subject", "Hello\r\nBcc: victim@example.com")]
    [InlineData("Subject", "Hello\nX-Evil: 1")]
    [InlineData("Subject", "Hello\rX-Evil: 1")]
    public void ALineBreakInTheSubjectIsRefused(string _, string subject) =>
        Assert.Contains("header injection", Assert.Throws<ArgumentException>(() => MessageComposer.Compose(Message(subject, "t", null), Now)).Message);

    [Fact]
    public void ACustomHeaderCannotInjectOrReplaceOurs()
    {
        Assert.Throws<ArgumentException>(() => MessageComposer.Compose(Message("s", "t", null) with { Headers = [new("X-A", "1\r\nBcc: x@example.com")] }, Now));
        Assert.Throws<ArgumentException>(() => MessageComposer.Compose(Message("s", "t", null) with { Headers = [new("Bcc", "x@example.com")] }, Now));
        Assert.Throws<ArgumentException>(() => MessageComposer.Compose(Message("s", "t", null) with { Headers = [new("X A", "1")] }, Now));
        Assert.Throws<ArgumentException>(() => new MessageFrame(Frame.From, null, [new("Feedback-ID", "1\nBcc: x@example.com")]));
        Assert.False(EmailAddress.TryParse("a@example.com", "Name\r\nBcc: x@example.com", out _, out _));
    }

    [Theory]
    [InlineData("http://shop.example/u/1")]
    [InlineData("https://shop.example/u/a b")]
    [InlineData("https://shop.example/u/<x>")]
    [InlineData("ftp://shop.example/u/1")]
    public void TheOneClickUrlMustBeACleanHttpsUrl(string url) =>
        Assert.Throws<ArgumentException>(() => MessageComposer.Compose(Message("s", "t", null) with { UnsubscribeUrl = url }, Now));

    [Fact]
    public async Task HttpIsAllowedOnlyOnTheLoopback()
    {
        var file = await WriteAsync(Message("s", "t", null) with { UnsubscribeUrl = "http://localhost:5080/u/x", UnsubscribeMailto = null });
        Assert.Contains("List-Unsubscribe: <http://localhost:5080/u/x>\r\n", await File.ReadAllTextAsync(file, Encoding.UTF8));
    }

    [Theory]
    [InlineData("anna@example.com", "anna@example.com", false)]
    [InlineData("Anna.Maria+news@Beispiel.DE", "Anna.Maria+news@beispiel.de", false)]
    [InlineData("jörg@müller.de", "jörg@xn--mller-kva.de", true)]
    [InlineData("a@bücher.example", "a@xn--bcher-kva.example", false)]
    public void AddressesAreCheckedAndDomainsGetTheirAsciiForm(string input, string expected, bool smtpUtf8)
    {
        var address = EmailAddress.Parse(input);
        Assert.Equal(expected, address.Address);
        Assert.Equal(smtpUtf8, address.NeedsSmtpUtf8);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain")]
    [InlineData("a@b")]
    [InlineData("@example.com")]
    [InlineData("a..b@example.com")]
    [InlineData(".a@example.com")]
    [InlineData("a b@example.com")]
    [InlineData("a@exa mple.com")]
    [InlineData("a(b)@example.com")]
    public void MalformedAddressesAreRefusedWithAReason(string input)
    {
        Assert.False(EmailAddress.TryParse(input, null, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

}
