using static RetentionCampaigns.Mail.Tests.ScriptedSmtpServer;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>
/// Every point of a mail transaction where a server can refuse, close or reset, and what the pool makes of it:
/// a reply decides (4xx retry later, 5xx do not); a lost connection before the final dot is a plain retry, after
/// it the message is in doubt and never resent. These guard how we read MailKit's protocol logger.
/// </summary>
public sealed class SmtpFaultTests
{
    static SmtpOptions Options(ScriptedSmtpServer server) => new()
    {
        Host = "127.0.0.1", Port = server.Port, Security = SmtpSecurity.None, ClientName = "rc-test.localdomain", PoolSize = 1,
        CommandTimeout = TimeSpan.FromSeconds(5), DataTimeout = TimeSpan.FromSeconds(5),
    };

    static OutgoingMessage Message(int n = 0) => Messages.Sample(to: $"anna{n}@example.com");

    [Theory]
    [InlineData(Point.Mail, "451 4.3.0 Try later", SendOutcome.Transient, 451, "4.3.0")]
    [InlineData(Point.Mail, "553 5.1.8 Sender refused", SendOutcome.Permanent, 553, "5.1.8")]
    [InlineData(Point.Rcpt, "450 4.2.1 Mailbox busy", SendOutcome.Transient, 450, "4.2.1")]
    [InlineData(Point.Rcpt, "550 5.1.1 No such user", SendOutcome.Permanent, 550, "5.1.1")]
    [InlineData(Point.Data, "451 4.3.0 Not now", SendOutcome.Transient, 451, "4.3.0")]
    [InlineData(Point.Data, "554 5.3.0 No data for you", SendOutcome.Permanent, 554, "5.3.0")]
    [InlineData(Point.FinalDot, "452 4.3.1 Disk full", SendOutcome.Transient, 452, "4.3.1")]
    [InlineData(Point.FinalDot, "554 5.7.1 Spam", SendOutcome.Permanent, 554, "5.7.1")]
    [InlineData(Point.Mail, "421 4.3.2 Shutting down", SendOutcome.Transient, 421, "4.3.2")]
    [InlineData(Point.Rcpt, "421 4.3.2 Shutting down", SendOutcome.Transient, 421, "4.3.2")]
    [InlineData(Point.FinalDot, "421 4.3.2 Shutting down", SendOutcome.Transient, 421, "4.3.2")]
    public async Task EveryReplyIsClassifiedWithItsCodeAndEnhancedStatus(Point point, string reply, SendOutcome expected, int code, string status)
    {
        await using var server = new ScriptedSmtpServer(point, Act.Reply, reply);
        await using var transport = new SmtpTransport(Options(server));
        var result = await transport.SendAsync(Message(), CancellationToken.None);
        Assert.True(result.Outcome == expected, result.ToString());
        Assert.Equal(code, result.ReplyCode);
        Assert.Equal(status, result.EnhancedStatus);
        Assert.Contains(reply[4..], result.Reply);
        Assert.Equal(0, server.Accepted);
    }

    [Theory]
    [InlineData(Point.Mail, Act.Close, SendOutcome.Transient)]
    [InlineData(Point.Mail, Act.Reset, SendOutcome.Transient)]
    [InlineData(Point.Rcpt, Act.Close, SendOutcome.Transient)]
    [InlineData(Point.Rcpt, Act.Reset, SendOutcome.Transient)]
    [InlineData(Point.Data, Act.Close, SendOutcome.Transient)]
    [InlineData(Point.Data, Act.Reset, SendOutcome.Transient)]
    [InlineData(Point.FinalDot, Act.Close, SendOutcome.InDoubt)]
    [InlineData(Point.FinalDot, Act.Reset, SendOutcome.InDoubt)]
    public async Task ALostConnectionIsARetryBeforeTheFinalDotAndInDoubtAfterIt(Point point, Act act, SendOutcome expected)
    {
        await using var server = new ScriptedSmtpServer(point, act);
        await using var transport = new SmtpTransport(Options(server));
        var result = await transport.SendAsync(Message(), CancellationToken.None);
        Assert.True(result.Outcome == expected, $"{point} {act}: {result}");
        Assert.Null(result.ReplyCode);
        Assert.Equal(1, server.Connections); // a fresh connection is not retried: the next attempt is the ledger's
    }

    [Theory]
    [InlineData(Point.Mail, SendOutcome.Transient)]
    [InlineData(Point.Data, SendOutcome.Transient)]
    [InlineData(Point.FinalDot, SendOutcome.InDoubt)]
    public async Task AServerThatFallsSilentIsGivenUpOnWithinItsTimeLimit(Point point, SendOutcome expected)
    {
        await using var server = new ScriptedSmtpServer(point, Act.Hang);
        await using var transport = new SmtpTransport(Options(server) with { CommandTimeout = TimeSpan.FromSeconds(1), DataTimeout = TimeSpan.FromSeconds(2) });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = await transport.SendAsync(Message(), CancellationToken.None);
        Assert.True(result.Outcome == expected, result.ToString());
        Assert.Contains("did not answer in time", result.Reply);
        // The reply after the final dot waits for the longer data timeout, every other step for the command timeout.
        Assert.InRange(watch.Elapsed.TotalSeconds, point == Point.FinalDot ? 1.9 : 0.9, point == Point.FinalDot ? 4 : 3);
    }

    [Fact]
    public async Task AfterAFaultTheNextMessageGetsAFreshConnection()
    {
        await using var server = new ScriptedSmtpServer(Point.FinalDot, Act.Reset);
        await using var transport = new SmtpTransport(Options(server));
        Assert.Equal(SendOutcome.InDoubt, (await transport.SendAsync(Message(1), CancellationToken.None)).Outcome);
        var next = await transport.SendAsync(Message(2), CancellationToken.None);
        Assert.True(next.Outcome == SendOutcome.Accepted, next.ToString());
        Assert.Equal(2, server.Connections);
        Assert.Equal(1, server.Accepted);
    }

    [Theory]
    [InlineData(Act.Close, null)]
    [InlineData(Act.Reset, null)]
    [InlineData(Act.Reply, "421 4.4.2 Idle for too long")]
    public async Task APooledConnectionTheServerDroppedWhileIdleIsReplacedWithoutAFalseInDoubt(Act act, string? reply)
    {
        await using var server = new ScriptedSmtpServer(Point.Idle, act, reply);
        await using var transport = new SmtpTransport(Options(server));
        Assert.Equal(SendOutcome.Accepted, (await transport.SendAsync(Message(1), CancellationToken.None)).Outcome);
        await Task.Delay(600); // the server has given up on the pooled connection by now
        var second = await transport.SendAsync(Message(2), CancellationToken.None);
        Assert.True(second.Outcome == SendOutcome.Accepted, second.ToString());
        Assert.Equal(2, server.Connections);
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task ARefusedRecipientAmongOthersIsReportedAndTheRestAreSent()
    {
        await using var server = new ScriptedSmtpServer(Point.Rcpt, Act.Reply, "550 5.1.1 No such user");
        await using var transport = new SmtpTransport(Options(server));
        // The script refuses every RCPT on the faulty connection: with two recipients both are refused.
        var result = await transport.SendAsync(Message() with { To = [EmailAddress.Parse("a@example.com"), EmailAddress.Parse("b@example.com")] },
            CancellationToken.None);
        Assert.Equal(SendOutcome.Permanent, result.Outcome);
        Assert.Equal("5.1.1", result.EnhancedStatus);
    }
}
