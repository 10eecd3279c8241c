using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>A real SMTP peer in a process of its own (Postfix's smtp-sink, or the aiosmtpd recorder), on a free loopback port.</summary>
public sealed class ExternalServer : IDisposable
{
    readonly Process process;
    public int Port { get; }

    /// <summary>Debian's python3 has python3-aiosmtpd; a python3 earlier on PATH (pyenv) may not.</summary>
    public static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    ExternalServer(Process process, int port) => (this.process, Port) = (process, port);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>smtp-sink with extra options, e.g. "-r RCPT" (4xx to RCPT) or "-q ." (hang up after the data).</summary>
    public static ExternalServer SmtpSink(params string[] options) => SmtpSinkOn(FreePort(), options);

    public static ExternalServer SmtpSinkOn(int port, params string[] options)
    {
        var arguments = new List<string>();
        if (Environment.UserName == "root") arguments.AddRange(["-u", "nobody"]);
        arguments.AddRange(options);
        arguments.AddRange([$"127.0.0.1:{port}", "256"]);
        return Start("/usr/sbin/smtp-sink", arguments, port);
    }

    public static ExternalServer Recorder(string directory, string? cert = null, string? key = null, string? auth = null, bool implicitTls = false)
    {
        var port = FreePort();
        var arguments = new List<string> { Path.Combine(AppContext.BaseDirectory, "smtp_recorder.py"), "--port", port.ToString(), "--dir", directory };
        if (cert is not null) arguments.AddRange(["--cert", cert, "--key", key!]);
        if (auth is not null) arguments.AddRange(["--auth", auth]);
        if (implicitTls) arguments.Add("--implicit-tls");
        return Start(Python, arguments, port);
    }

    static ExternalServer Start(string file, IEnumerable<string> arguments, int port)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"{file} exited with {process.ExitCode} before listening.");
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new ExternalServer(process, port);
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"{file} did not listen on {port} within 20 s.");
    }

    public void Dispose()
    {
        try { process.Kill(entireProcessTree: true); process.WaitForExit(5000); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
