using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace RetentionCampaigns.Mail;

/// <summary>
/// Makes a MimeKit message of an <see cref="OutgoingMessage"/>: multipart/alternative (text, then HTML) in UTF-8,
/// each part quoted-printable or base64 as MimeKit judges best for 7-bit transport; List-Unsubscribe and
/// List-Unsubscribe-Post for one-click unsubscribe (RFC 8058). A CR or LF in any header value is refused, so no
/// input can add a header of its own. The headers are built straight into the message's header list: the
/// message's address lists are not parsed back, as the envelope is given to the transport separately.
/// </summary>
public static class MessageComposer
{
    /// <summary>Headers the composer sets itself; a custom header may not replace them.</summary>
    static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post", "Return-Path", "DKIM-Signature",
    };

    static readonly Header OneClick = new(HeaderId.ListUnsubscribePost, "List-Unsubscribe=One-Click");

    /// <summary>The message and its Message-ID (without angle brackets). Dispose the message when done with it.</summary>
    public static (MimeMessage Message, string MessageId) Compose(OutgoingMessage message, DateTimeOffset now)
    {
        var frame = message.Frame;
        var messageId = message.MessageId ?? NewMessageId(frame.Domain);
        CheckValue("Message-ID", messageId);
        if (messageId.Contains('<') || messageId.Contains('>') || messageId.Contains(' ') || !messageId.Contains('@'))
            throw new ArgumentException($"Message-ID '{messageId}' must be id-left@id-right without angle brackets or spaces.");
        if (message.To.Count == 0) throw new ArgumentException("A message needs at least one recipient.");
        CheckValue("Subject", message.Subject);

        var headers = new HeaderList
        {
            new Header(HeaderId.Date, DateUtils.FormatDate(message.Date ?? now)),
        };
        var encoded = frame.EncodedHeaders;
        headers.Add(encoded[0].Clone()); // From
        headers.Add(MessageFrame.AddressHeader(HeaderId.To, message.To));
        for (var i = 1; i < encoded.Count; i++) headers.Add(encoded[i].Clone()); // Reply-To, MIME-Version, fixed headers
        headers.Add(new Header("Message-ID", $"<{messageId}>")); // RFC 5322's spelling (MimeKit's own is Message-Id)
        headers.Add(Unstructured(HeaderId.Subject, message.Subject));
        if (message.UnsubscribeUrl is not null || message.UnsubscribeMailto is not null)
        {
            var targets = new List<string>(2);
            if (message.UnsubscribeUrl is { } url) targets.Add($"<{CheckedUri(url, https: true)}>");
            if (message.UnsubscribeMailto is { } mailto) targets.Add($"<{CheckedUri(mailto, https: false)}>");
            var list = new Header(HeaderId.ListUnsubscribe, "");
            list.SetRawValue(Encoding.ASCII.GetBytes(FoldedTargets("List-Unsubscribe".Length + 1, targets)));
            headers.Add(list);
            // RFC 8058: only with an HTTPS URI, which then takes a POST of exactly this body.
            if (message.UnsubscribeUrl is not null) headers.Add(OneClick.Clone());
        }
        foreach (var (name, value) in message.Headers) headers.Add(CustomHeader(name, value));

        var text = Part("plain", message.TextBody, alone: message.HtmlBody is null);
        MimeEntity body = message.HtmlBody is null ? text : new MultipartAlternative { text, Part("html", message.HtmlBody) };
        return (new MimeMessage(headers) { Body = body }, messageId);
    }

    static TextPart Part(string subtype, string content, bool alone = false)
    {
        var part = new TextPart(subtype);
        var text = NormalizeLineEnds(content);
        part.SetText(Encoding.UTF8, text);
        // Decided here, not by the SMTP server's extensions: the same bytes whatever the transport (and DKIM-signable).
        // Plain ASCII with short lines, the usual case, is told by one quick pass over the text.
        var encoding = IsShortLinedAscii(text) ? ContentEncoding.SevenBit : EncodingFor(text);
        // A body of its own that does not end in a line break would get one on the wire: quoted-printable's
        // soft break at the end keeps it exact (in a multipart, the break before the boundary is the boundary's).
        if (alone && encoding == ContentEncoding.SevenBit && !text.EndsWith('\n')) encoding = ContentEncoding.QuotedPrintable;
        part.ContentTransferEncoding = encoding;
        return part;
    }

    /// <summary>
    /// MimeKit's rule for 7-bit transport (its GetBestEncoding), decided from the text instead of a pass of the
    /// encoded bytes through its filters, which cost more than the rest of composing: base64 for text with a NUL or
    /// where at least 17 % of the UTF-8 bytes are not ASCII, quoted-printable otherwise.
    /// </summary>
    static ContentEncoding EncodingFor(string text)
    {
        if (text.Contains('\0')) return ContentEncoding.Base64;
        var bytes = Encoding.UTF8.GetByteCount(text);
        var ascii = 0;
        foreach (var c in text) if (c < 0x80) ascii++;
        return bytes - ascii >= (int)(bytes * (17.0 / 100.0)) && bytes > ascii ? ContentEncoding.Base64 : ContentEncoding.QuotedPrintable;
    }

    /// <summary>
    /// Unstructured text: printable ASCII as it is (MimeKit folds it); anything else as RFC 2047 B-encoded words of
    /// our own, one per line. MimeKit's own encoded words ran past RFC 2047's 76-character line limit (up to 91
    /// characters seen on a Subject line), and it leaves text that readers take for an encoded-word ("=?...?=") as it is.
    /// </summary>
    internal static Header Unstructured(HeaderId id, string value) => Unstructured(id.ToHeaderName(), value);

    static Header Unstructured(string name, string value)
    {
        CheckValue(name, value);
        if (value.All(c => c is >= ' ' and <= '~' or '\t') && !value.Contains("=?", StringComparison.Ordinal)
            && value.Split(' ', '\t').All(word => word.Length <= 78 - name.Length - 2))
            return new Header(Encoding.UTF8, name, value);
        var header = new Header(Encoding.UTF8, name, "");
        header.SetRawValue(Encoding.ASCII.GetBytes(" " + string.Join("\r\n ", EncodedWords(value, name.Length + 2)) + "\r\n"));
        return header;
    }

    /// <summary>RFC 2047 B-encoded words of whole characters, each on a line of its own within 78 (decoders join adjacent words).</summary>
    static List<string> EncodedWords(string value, int firstLineUsed)
    {
        const int maxBytes = 45; // 60 base64 characters: with "=?utf-8?B?" and "?=" a word stays within 75
        var bytes = Encoding.UTF8.GetBytes(value);
        var words = new List<string>(bytes.Length / maxBytes + 2);
        var budget = Math.Clamp((78 - firstLineUsed - 12) / 4 * 3, 6, maxBytes);
        for (var start = 0; start < bytes.Length;)
        {
            var length = Math.Min(words.Count == 0 ? budget : maxBytes, bytes.Length - start);
            // Never split a character: back off to the start of a UTF-8 sequence.
            while (start + length < bytes.Length && (bytes[start + length] & 0xC0) == 0x80) length--;
            words.Add($"=?utf-8?B?{Convert.ToBase64String(bytes, start, length)}?=");
            start += length;
        }
        return words;
    }

    /// <summary>
    /// "&lt;a&gt;, &lt;b&gt;" folded so that lines stay within 78 characters where they can: RFC 2369 ignores white
    /// space around the targets, so a long target (a signed unsubscribe URL) starts a line of its own.
    /// </summary>
    static string FoldedTargets(int nameLength, List<string> targets)
    {
        var folded = new StringBuilder();
        var line = nameLength;
        for (var i = 0; i < targets.Count; i++)
        {
            var word = targets[i] + (i < targets.Count - 1 ? "," : "");
            if (line + 1 + word.Length > 78) { folded.Append("\r\n"); line = 0; }
            folded.Append(' ').Append(word);
            line += 1 + word.Length;
        }
        return folded.Append("\r\n").ToString();
    }

    internal static Header CustomHeader(string name, string value)
    {
        if (!IsFieldName(name)) throw new ArgumentException($"'{name}' is not a valid header name.");
        if (Reserved.Contains(name)) throw new ArgumentException($"The {name} header is set by the composer and cannot be given as a custom header.");
        return Unstructured(name, value);
    }

    /// <summary>Random per process, so ids of several nodes (and restarts) never meet; a counter within it (no random bytes per message).</summary>
    static readonly string IdPrefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    static long idCounter;

    static string NewMessageId(string domain) =>
        $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds():x}.{IdPrefix}{Interlocked.Increment(ref idCounter):x}@{domain}";

    static string CheckedUri(string uri, bool https)
    {
        CheckValue("List-Unsubscribe", uri);
        if (uri.Any(c => c <= ' ' || c is '<' or '>' or ',' || c > 126))
            throw new ArgumentException($"The unsubscribe address '{uri}' must be a URI without spaces, commas or angle brackets (percent-encode them).");
        if (https)
        {
            // RFC 8058 asks for HTTPS; plain HTTP is let through only for a local installation.
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !(parsed.Scheme == "https" || parsed.Scheme == "http" && parsed.IsLoopback))
                throw new ArgumentException($"The one-click unsubscribe URL '{uri}' must be an absolute https:// URL.");
        }
        else if (!uri.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{uri}' is not a mailto: URI.");
        return uri;
    }

    static bool IsFieldName(string name) => name.Length > 0 && name.All(c => c > 32 && c < 127 && c != ':');

    internal static void CheckValue(string name, string value)
    {
        if (value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException($"The {name} header value contains a line break; it was refused (header injection).");
        if (value.Contains('\0')) throw new ArgumentException($"The {name} header value contains a NUL character.");
    }

    static bool IsShortLinedAscii(string text)
    {
        if (!System.Text.Ascii.IsValid(text)) return false;
        var rest = text.AsSpan();
        while (true)
        {
            var end = rest.IndexOf('\n');
            var line = end < 0 ? rest : rest[..end];
            if (line.Length > 78 || line.ContainsAnyExceptInRange(' ', '~') && line.TrimEnd('\r').ContainsAnyExcept(Printable)) return false;
            if (end < 0) return true;
            rest = rest[(end + 1)..];
        }
    }

    /// <summary>What a 7-bit line may hold: printable ASCII and tabs (no NUL or other controls).</summary>
    static readonly System.Buffers.SearchValues<char> Printable = System.Buffers.SearchValues.Create(
        "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>CRLF, a bare LF and a bare CR all end a line; the message has CRLF only.</summary>
    internal static string NormalizeLineEnds(string text)
    {
        if (text.AsSpan().IndexOfAny('\r', '\n') < 0) return text;
        var builder = new StringBuilder(text.Length + 64);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n') i++;
                builder.Append("\r\n");
            }
            else if (c == '\n') builder.Append("\r\n");
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
