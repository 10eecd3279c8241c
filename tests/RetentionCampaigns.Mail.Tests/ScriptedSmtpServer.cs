using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>
/// A minimal SMTP server (PIPELINING, ENHANCEDSTATUSCODES) that misbehaves at one point of a transaction on the
/// connection it is told to: replies with a given line, closes the connection (FIN), resets it (RST) or falls silent. For the
/// fault tests that smtp-sink cannot script, such as a reset after the final dot.
/// </summary>
public sealed class ScriptedSmtpServer : IAsyncDisposable
{
    public enum Point { Mail, Rcpt, Data, FinalDot, Idle }
    public enum Act { Reply, Close, Reset, Hang }

    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly Point point;
    readonly Act act;
    readonly string? reply;
    readonly int faultyConnection;
    readonly CancellationTokenSource stop = new();
    readonly List<Task> sessions = [];
    int connections;
    int accepted;

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;
    public int Connections => connections;
    /// <summary>Messages the server took responsibility for (replied 250 after the final dot).</summary>
    public int Accepted => accepted;

    /// <param name="faultyConnection">Which connection (1 = the first) misbehaves; the others behave.</param>
    /// <param name="point"><see cref="Point.Idle"/>: after the first message, the server acts while the connection lies idle.</param>
    public ScriptedSmtpServer(Point point, Act act, string? reply = null, int faultyConnection = 1)
    {
        (this.point, this.act, this.reply, this.faultyConnection) = (point, act, reply, faultyConnection);
        listener.Start();
        sessions.Add(AcceptAsync());
    }

    async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await listener.AcceptSocketAsync(stop.Token); }
            catch (Exception) { return; }
            var number = Interlocked.Increment(ref connections);
            lock (sessions) sessions.Add(Task.Run(() => SessionAsync(socket, number == faultyConnection)));
        }
    }

    async Task SessionAsync(Socket socket, bool faulty)
    {
        using var _ = socket;
        await using var stream = new NetworkStream(socket);
        var reader = new LineReader(stream);
        async Task Send(string text) => await stream.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"));
        // True when the script ends the session at this point.
        async Task<bool> Misbehave(Point here)
        {
            if (!faulty || here != point) return false;
            switch (act)
            {
                case Act.Reply:
                    await Send(reply!);
                    if (!reply!.StartsWith("421", StringComparison.Ordinal) && here != Point.Idle) return false;
                    socket.Shutdown(SocketShutdown.Both);
                    return true;
                case Act.Close:
                    socket.Shutdown(SocketShutdown.Both);
                    return true;
                case Act.Hang:
                    await Task.Delay(Timeout.Infinite, stop.Token); // say nothing until the test ends
                    return true;
                default:
                    socket.LingerState = new LingerOption(true, 0); // closing now sends RST
                    socket.Close();
                    return true;
            }
        }
        try
        {
            await Send("220 scripted ESMTP");
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await Send("250-scripted\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME");
                        break;
                    case "MAIL":
                        if (await Misbehave(Point.Mail)) return;
                        if (!(faulty && point == Point.Mail)) await Send("250 2.1.0 Ok");
                        break;
                    case "RCPT":
                        if (await Misbehave(Point.Rcpt)) return;
                        if (!(faulty && point == Point.Rcpt)) await Send("250 2.1.5 Ok");
                        break;
                    case "DATA":
                        if (await Misbehave(Point.Data)) return;
                        if (faulty && point == Point.Data) break;
                        await Send("354 End data with <CR><LF>.<CR><LF>");
                        while (await reader.ReadLineAsync(stop.Token) is { } data && data != ".") { }
                        if (await Misbehave(Point.FinalDot)) return;
                        if (faulty && point == Point.FinalDot) break;
                        Interlocked.Increment(ref accepted);
                        await Send("250 2.0.0 Ok: queued");
                        if (faulty && point == Point.Idle)
                        {
                            // The connection lies idle in the client's pool when the server gives up on it.
                            await Task.Delay(200, stop.Token);
                            await Misbehave(Point.Idle);
                            return;
                        }
                        break;
                    case "RSET" or "NOOP":
                        await Send("250 2.0.0 Ok");
                        break;
                    case "QUIT":
                        await Send("221 2.0.0 Bye");
                        return;
                    default:
                        await Send("502 5.5.2 Unknown command");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    /// <summary>Lines ending in CRLF, read from the raw bytes (a message may carry any bytes).</summary>
    sealed class LineReader(Stream stream)
    {
        readonly byte[] buffer = new byte[64 * 1024];
        int start, end;

        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new List<byte>();
            while (true)
            {
                if (start == end)
                {
                    start = 0;
                    end = await stream.ReadAsync(buffer, ct);
                    if (end == 0) return null;
                }
                var b = buffer[start++];
                if (b == '\n')
                {
                    if (line.Count > 0 && line[^1] == '\r') line.RemoveAt(line.Count - 1);
                    return Encoding.UTF8.GetString(line.ToArray());
                }
                line.Add(b);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        Task[] running;
        lock (sessions) running = [.. sessions];
        await Task.WhenAll(running.Select(t => t.ContinueWith(_ => { })));
    }
}
