using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Tests.Harness;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// 5 KB messages to Postfix's smtp-sink on the loopback: the MailKit pool with one connection, then with 8, against
/// the floor of Postfix's own smtp-source with 8 sessions reusing their connections (-d -s 8), same sink, same
/// run (goal: at least 50 % of it). Ours includes making each message with MimeKit; the app's CPU per message is
/// printed, and what composing and writing a message costs on its own.
/// </summary>
public static class SmtpBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var messages = Option(args, "--messages", 20_000);
        var port = AppProcess.FreePort();
        using var sink = StartSink(port);
        double single, pooled, floor;
        try
        {
            single = await MeasureAsync(port, poolSize: 1, workers: 1, messages);
            pooled = await MeasureAsync(port, poolSize: 8, workers: 8, messages);
            floor = SmtpSource(port, sessions: 8, messages);
        }
        finally
        {
            sink.Kill();
        }

        var composing = ComposeCost(5_000);
        var ratio = pooled / floor;
        Console.WriteLine($"smtp: composing and writing one message (MimeKit, one thread): {composing:N0} µs of CPU");
        // One connection is bound by round trips: MailKit sends DATA only after the MAIL and RCPT replies (one round
        // trip more per message than the own client it replaced, which reached about 3,600/s here).
        Console.WriteLine($"smtp: one connection: {single:N0} messages/s");
        Console.WriteLine($"smtp: pool of 8: {pooled:N0} messages/s");
        Console.WriteLine($"smtp: floor smtp-source -d -s 8: {floor:N0} messages/s");
        Console.WriteLine($"smtp: pool of 8 = {ratio:P0} of the floor (goal >= 50 %)");
        var ok = ratio >= 0.5;
        Console.WriteLine(ok ? "smtp: PASS" : "smtp: FAIL");
        return ok ? 0 : 1;
    }

    static readonly MessageFrame Frame = new(EmailAddress.Parse("news@shop.example", "Beispiel-Shop"), null, [new("Feedback-ID", "1:1:rc")]);

    static OutgoingMessage Message(int i) => new()
    {
        Frame = Frame,
        To = [EmailAddress.Parse($"kunde{i}@example.com")],
        Subject = "Wir vermissen Sie: 12,50 € für Ihre nächste Bestellung",
        TextBody = Body(1_600),
        HtmlBody = "<p>" + Body(2_000) + "</p>",
        UnsubscribeUrl = "https://mail.shop.example/u/AQEBAAAAAAAAACoAAAAAAAAAAAKYBLFSg8IzqdKcvz9UB0E",
    };

    /// <summary>Where a message's CPU goes apart from the protocol: making it and writing its bytes.</summary>
    static double ComposeCost(int messages)
    {
        for (var i = 0; i < 500; i++) Write(i);
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < messages; i++) Write(i);
        return (Process.GetCurrentProcess().TotalProcessorTime - before).TotalMicroseconds / messages;

        static void Write(int i)
        {
            using var message = MessageComposer.Compose(Message(i), DateTimeOffset.UtcNow).Message;
            message.WriteTo(Stream.Null);
        }
    }

    static string Body(int length)
    {
        var builder = new StringBuilder(length + 80);
        while (builder.Length < length) builder.Append("Ihre letzte Bestellung liegt eine Weile zurück; wir haben Neues für Sie.\n");
        return builder.ToString(0, length);
    }

    internal static async Task<double> MeasureAsync(int port, int poolSize, int workers, int messages)
    {
        await using var transport = new SmtpTransport(new SmtpOptions
        {
            Host = "127.0.0.1", Port = port, Security = SmtpSecurity.None, PoolSize = poolSize, MaxMessagesPerConnection = int.MaxValue,
        });
        long size;
        using (var measured = MessageComposer.Compose(Message(0), DateTimeOffset.UtcNow).Message)
        using (var counter = new MemoryStream())
        {
            measured.WriteTo(counter);
            size = counter.Length;
        }
        for (var i = 0; i < 200; i++) await transport.SendAsync(Message(i), CancellationToken.None); // warm-up
        var next = -1;
        var failures = 0;
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < messages)
                if ((await transport.SendAsync(Message(i), CancellationToken.None)).Outcome != SendOutcome.Accepted) Interlocked.Increment(ref failures);
        })));
        var rate = messages / watch.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds / messages;
        Console.WriteLine($"smtp: pool {poolSize}, {workers} senders: {messages:N0} messages of {size:N0} bytes in {watch.Elapsed.TotalSeconds:F2} s, " +
                          $"{transport.ConnectionsOpened} connections, {failures} failures, app CPU {cpu:N0} µs per message");
        if (failures > 0) throw new InvalidOperationException($"{failures} messages were not accepted by the sink.");
        return rate;
    }

    internal static double SmtpSource(int port, int sessions, int messages)
    {
        var start = new ProcessStartInfo("/usr/sbin/smtp-source") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-d", "-s", sessions.ToString(), "-m", messages.ToString(), "-l", "5120",
                     "-f", "news@shop.example", "-t", "kunde@example.com", $"127.0.0.1:{port}" })
            start.ArgumentList.Add(argument);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException("smtp-source failed: " + error);
        var rate = messages / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"smtp: smtp-source -d -s {sessions}: {messages:N0} messages of 5,120 bytes in {watch.Elapsed.TotalSeconds:F2} s");
        return rate;
    }

    internal static Process StartSink(int port)
    {
        var start = new ProcessStartInfo("/usr/sbin/smtp-sink") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        if (Environment.UserName == "root") { start.ArgumentList.Add("-u"); start.ArgumentList.Add("nobody"); }
        start.ArgumentList.Add($"127.0.0.1:{port}");
        start.ArgumentList.Add("256");
        var process = Process.Start(start)!;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return process;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new InvalidOperationException("smtp-sink did not start.");
    }
}
