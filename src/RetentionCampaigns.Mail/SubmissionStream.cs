using System.Net.Sockets;

namespace RetentionCampaigns.Mail;

/// <summary>
/// The socket as MailKit's stream, with its writes held back until MailKit flushes or waits for a reply, then sent
/// at once. MailKit hands a message's data over in pieces of its 4 KB buffer, each a socket send and, on the far
/// side, a read: a 5 KB message took four sends (MAIL and RCPT, DATA, two of data), now three. Tells the
/// <see cref="FinalDotWatch"/> when bytes are held and when all of them left, so a final dot counts as sent only
/// once the send that carried it returned. Socket errors surface as <see cref="IOException"/>, as from a
/// NetworkStream. Not thread-safe, like the client above it.
/// </summary>
sealed class SubmissionStream(Socket socket, FinalDotWatch watch) : Stream
{
    /// <summary>Held bytes beyond this go out without waiting for the flush (a large message is not held whole).</summary>
    const int SendAbove = 64 * 1024;

    byte[] held = new byte[8 * 1024];
    int count;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int length) => Write(buffer.AsSpan(offset, length));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Hold(buffer);
        if (count > SendAbove) Flush();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int length, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, length), ct).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        Hold(buffer.Span);
        return count > SendAbove ? new ValueTask(FlushAsync(ct)) : ValueTask.CompletedTask;
    }

    public override void Flush()
    {
        try
        {
            for (var sent = 0; sent < count;) sent += socket.Send(held, sent, count - sent, SocketFlags.None);
        }
        catch (SocketException e) { throw new IOException(e.Message, e); }
        Sent();
    }

    public override async Task FlushAsync(CancellationToken ct)
    {
        try
        {
            for (var sent = 0; sent < count;) sent += await socket.SendAsync(held.AsMemory(sent, count - sent), SocketFlags.None, ct);
        }
        catch (SocketException e) { throw new IOException(e.Message, e); }
        Sent();
    }

    // A reader waits for the server, which waits for whatever is still held.
    public override int Read(byte[] buffer, int offset, int length) => Read(buffer.AsSpan(offset, length));

    public override int Read(Span<byte> buffer)
    {
        if (count > 0) Flush();
        try { return socket.Receive(buffer, SocketFlags.None); }
        catch (SocketException e) { throw new IOException(e.Message, e); }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int length, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, length), ct).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (count > 0) await FlushAsync(ct);
        try { return await socket.ReceiveAsync(buffer, SocketFlags.None, ct); }
        catch (SocketException e) { throw new IOException(e.Message, e); }
    }

    void Hold(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        if (count + bytes.Length > held.Length) Array.Resize(ref held, Math.Max(held.Length * 2, count + bytes.Length));
        bytes.CopyTo(held.AsSpan(count));
        count += bytes.Length;
        watch.Held();
    }

    void Sent()
    {
        count = 0;
        watch.AllSent();
    }
}
