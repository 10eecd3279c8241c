using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Tests.Harness;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// 5 KB messages to Postfix's smtp-sink on the loopback: our client on one connection, then a pool of 8, against
/// the floor of Postfix's own smtp-source with 8 sessions reusing their connections (-d -s 8), same sink, same
/// run. Ours includes writing each message's MIME.
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

        var ratio = pooled / floor;
        Console.WriteLine($"smtp: one connection: {single:N0} messages/s (goal >= 2,500/s)");
        Console.WriteLine($"smtp: pool of 8: {pooled:N0} messages/s");
        Console.WriteLine($"smtp: floor smtp-source -d -s 8: {floor:N0} messages/s");
        Console.WriteLine($"smtp: pool of 8 = {ratio:P0} of the floor (goal >= 50 %)");
        var ok = single >= 2_500 && ratio >= 0.5;
        Console.WriteLine(ok ? "smtp: PASS" : "smtp: FAIL");
        return ok ? 0 : 1;
    }

    static OutgoingMessage Message(int i) => new()
    {
        From = EmailAddress.Parse("news@shop.example", "Beispiel-Shop"),
        To = [EmailAddress.Parse($"kunde{i}@example.com")],
        Subject = "Wir vermissen Sie: 12,50 € für Ihre nächste Bestellung",
        TextBody = Body(1_600),
        HtmlBody = "<p>" + Body(2_000) + "</p>",
        UnsubscribeUrl = "https://mail.shop.example/u/AQEBAAAAAAAAACoAAAAAAAAAAAKYBLFSg8IzqdKcvz9UB0E",
    };

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
        var size = MimeWriter.Write(Message(0), DateTimeOffset.UtcNow).Bytes.Length;
        for (var i = 0; i < 200; i++) await transport.SendAsync(Message(i), CancellationToken.None); // warm-up
        var next = -1;
        var failures = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < messages)
                if ((await transport.SendAsync(Message(i), CancellationToken.None)).Outcome != SendOutcome.Accepted) Interlocked.Increment(ref failures);
        })));
        var rate = messages / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"smtp: pool {poolSize}, {workers} senders: {messages:N0} messages of {size:N0} bytes in {watch.Elapsed.TotalSeconds:F2} s, " +
                          $"{transport.ConnectionsOpened} connections, {failures} failures");
        if (failures > 0) throw new InvalidOperationException($"{failures} messages were not accepted by the sink.");
        return rate;
    }

    static double SmtpSource(int port, int sessions, int messages)
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
