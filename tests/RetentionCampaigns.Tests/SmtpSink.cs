using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RetentionCampaigns.Tests;

/// <summary>Postfix's smtp-sink on a free loopback port, for app tests that send over SMTP; killed on dispose.</summary>
public sealed class SmtpSink : IDisposable
{
    readonly Process process;
    public int Port { get; }

    SmtpSink(Process process, int port) => (this.process, Port) = (process, port);

    /// <param name="options">smtp-sink options, e.g. "-f", "RCPT" (5xx to every recipient) or "-d", "DIR/%H%M%S." (dump each message).</param>
    public static async Task<SmtpSink> StartAsync(params string[] options)
    {
        var port = Harness.AppProcess.FreePort();
        var start = new ProcessStartInfo("/usr/sbin/smtp-sink") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        // As root smtp-sink needs a user to drop to; root itself keeps dumps writable in our temporary folders.
        if (Environment.UserName == "root") { start.ArgumentList.Add("-u"); start.ArgumentList.Add("root"); }
        foreach (var option in options) start.ArgumentList.Add(option);
        start.ArgumentList.Add($"127.0.0.1:{port}");
        start.ArgumentList.Add("10");
        var sink = new SmtpSink(Process.Start(start)!, port);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return sink;
            }
            catch (SocketException) { await Task.Delay(50); }
        }
        sink.Dispose();
        throw new TimeoutException("smtp-sink did not start listening.");
    }

    /// <summary>App settings that send through this sink.</summary>
    public Dictionary<string, string> AppSettings() => new()
    {
        ["Mail:Transport"] = "Smtp", ["Mail:Smtp:Host"] = "127.0.0.1", ["Mail:Smtp:Port"] = Port.ToString(), ["Mail:Smtp:Security"] = "None",
    };

    public void Dispose()
    {
        try { process.Kill(); process.WaitForExit(5000); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
