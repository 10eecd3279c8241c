using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>The stream under MailKit holds writes until a flush or a read, and the final dot is out only once sent.</summary>
public sealed class SubmissionStreamTests : IAsyncDisposable
{
    readonly Socket client = new(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    Socket server = null!;
    int finalDots;
    readonly FinalDotWatch watch;

    public SubmissionStreamTests() => watch = new FinalDotWatch(onProgress: () => { }, onFinalDot: () => finalDots++);

    async Task<SubmissionStream> ConnectAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepting = listener.AcceptSocketAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        server = await accepting;
        return new SubmissionStream(client, watch);
    }

    static readonly byte[] Message = Encoding.ASCII.GetBytes("Subject: hello\r\n\r\nHello.\r\n.\r\n");

    async Task<string> ReceiveAsync(int expected)
    {
        var buffer = new byte[expected];
        for (var got = 0; got < expected;)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            got += await server.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, timeout.Token);
        }
        return Encoding.ASCII.GetString(buffer);
    }

    [Fact]
    public async Task WritesAreHeldUntilTheFlushAndThenGoOutTogether()
    {
        var stream = await ConnectAsync();
        await stream.WriteAsync(Message.AsMemory(0, 10));
        await stream.WriteAsync(Message.AsMemory(10));
        await Task.Delay(100);
        Assert.Equal(0, server.Available);
        await stream.FlushAsync();
        Assert.Equal(Encoding.ASCII.GetString(Message), await ReceiveAsync(Message.Length));
    }

    [Fact]
    public async Task AReadSendsWhatIsHeldFirstForTheServerWaitsForIt()
    {
        var stream = await ConnectAsync();
        await stream.WriteAsync("NOOP\r\n"u8.ToArray());
        var reading = stream.ReadAsync(new byte[64]).AsTask();
        Assert.Equal("NOOP\r\n", await ReceiveAsync(6));
        await server.SendAsync("250 2.0.0 Ok\r\n"u8.ToArray(), SocketFlags.None);
        Assert.Equal(14, await reading.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task TheFinalDotCountsAsSentOnlyOnceTheSendCarryingItReturned()
    {
        var stream = await ConnectAsync();
        watch.Start();
        await stream.WriteAsync(Message);
        watch.LogClient(Message, 0, Message.Length); // as MailKit does after its write returned
        Assert.False(watch.FinalDotSent);
        await stream.FlushAsync();
        Assert.True(watch.FinalDotSent);
        Assert.Equal(1, finalDots);
    }

    [Fact]
    public async Task AFinalDotWhoseSendFailedWasNotSent()
    {
        var stream = await ConnectAsync();
        server.LingerState = new LingerOption(true, 0);
        server.Close(); // RST: the client's next send fails
        await Task.Delay(100);
        watch.Start();
        await stream.WriteAsync(Message);
        watch.LogClient(Message, 0, Message.Length);
        await Assert.ThrowsAsync<IOException>(() => stream.FlushAsync());
        Assert.False(watch.FinalDotSent);
        Assert.Equal(0, finalDots);
    }

    [Fact]
    public async Task AFinalDotWrittenWhenNothingIsHeldIsSentAtOnce()
    {
        // MailKit's own flush writes, flushes and only then logs: by then nothing is held.
        var stream = await ConnectAsync();
        watch.Start();
        await stream.WriteAsync(Message);
        await stream.FlushAsync();
        watch.LogClient(Message, 0, Message.Length);
        Assert.True(watch.FinalDotSent);
        Assert.Equal(1, finalDots);
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        server?.Dispose();
        return ValueTask.CompletedTask;
    }
}
