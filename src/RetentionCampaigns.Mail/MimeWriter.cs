using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace RetentionCampaigns.Mail;

/// <summary>
/// Writes an <see cref="OutgoingMessage"/> as RFC 5322 / MIME bytes with CRLF line ends: multipart/alternative
/// (text, then HTML) in UTF-8, each part quoted-printable or base64, whichever is shorter (RFC 2045); non-ASCII
/// header text as RFC 2047 encoded-words; List-Unsubscribe and List-Unsubscribe-Post for one-click unsubscribe
/// (RFC 8058). A CR or LF in any header value is refused, so no input can add a header of its own.
/// </summary>
public static class MimeWriter
{
    const int MaxEncodedWordBytes = 45; // 60 base64 characters: with "=?utf-8?B?" and "?=" a word stays within 75 (RFC 2047)
    const int QuotedPrintableLine = 76;
    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Headers the writer sets itself; a custom header may not replace them.</summary>
    static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post", "Return-Path",
    };

    public static (byte[] Bytes, string MessageId) Write(OutgoingMessage message, DateTimeOffset now)
    {
        var messageId = message.MessageId ?? NewMessageId(message.From);
        CheckValue("Message-ID", messageId);
        if (messageId.Contains('<') || messageId.Contains('>') || messageId.Contains(' ') || !messageId.Contains('@'))
            throw new ArgumentException($"Message-ID '{messageId}' must be id-left@id-right without angle brackets or spaces.");
        if (message.To.Count == 0) throw new ArgumentException("A message needs at least one recipient.");

        var output = new StringBuilder(message.TextBody.Length * 2 + (message.HtmlBody?.Length ?? 0) * 2 + 1024);
        Header(output, "Date", (message.Date ?? now).ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) + Offset(message.Date ?? now));
        Header(output, "From", Mailbox(message.From));
        Header(output, "To", string.Join(", ", message.To.Select(Mailbox)));
        if (message.ReplyTo is not null) Header(output, "Reply-To", Mailbox(message.ReplyTo));
        Header(output, "Message-ID", $"<{messageId}>");
        Header(output, "Subject", Unstructured("Subject", message.Subject));
        Header(output, "MIME-Version", "1.0");
        if (message.UnsubscribeUrl is not null || message.UnsubscribeMailto is not null)
        {
            var targets = new List<string>();
            if (message.UnsubscribeUrl is { } url) targets.Add($"<{CheckedUri(url, https: true)}>");
            if (message.UnsubscribeMailto is { } mailto) targets.Add($"<{CheckedUri(mailto, https: false)}>");
            // RFC 2369 ignores leading white space: each target may start a line of its own, which keeps a typical
            // signed unsubscribe URL within 78 characters.
            Header(output, "List-Unsubscribe", string.Join(", ", targets), foldAfterName: true);
            // RFC 8058: only with an HTTPS URI, which then takes a POST of exactly this body.
            if (message.UnsubscribeUrl is not null) Header(output, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        foreach (var (name, value) in message.Headers)
        {
            if (!IsFieldName(name)) throw new ArgumentException($"'{name}' is not a valid header name.");
            if (Reserved.Contains(name)) throw new ArgumentException($"The {name} header is set by the writer and cannot be given as a custom header.");
            Header(output, name, Unstructured(name, value));
        }

        if (message.HtmlBody is null)
        {
            Part(output, "text/plain; charset=utf-8", message.TextBody, multipart: false);
        }
        else
        {
            var boundary = "=_rc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
            Header(output, "Content-Type", $"multipart/alternative; boundary=\"{boundary}\"");
            output.Append("\r\n");
            output.Append("This is a multi-part message in MIME format.\r\n");
            output.Append("--").Append(boundary).Append("\r\n");
            Part(output, "text/plain; charset=utf-8", message.TextBody, multipart: true);
            output.Append("--").Append(boundary).Append("\r\n");
            Part(output, "text/html; charset=utf-8", message.HtmlBody, multipart: true);
            output.Append("--").Append(boundary).Append("--\r\n");
        }
        return (Utf8.GetBytes(output.ToString()), messageId);
    }

    static string NewMessageId(EmailAddress from)
    {
        var domain = from.Address[(from.Address.LastIndexOf('@') + 1)..];
        return $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds():x}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10))}@{domain}";
    }

    static string Offset(DateTimeOffset date)
    {
        var offset = date.Offset;
        return $"{(offset < TimeSpan.Zero ? '-' : '+')}{Math.Abs(offset.Hours):00}{Math.Abs(offset.Minutes):00}";
    }

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

    static void CheckValue(string name, string value)
    {
        if (value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException($"The {name} header value contains a line break; it was refused (header injection).");
        if (value.Contains('\0')) throw new ArgumentException($"The {name} header value contains a NUL character.");
    }

    /// <summary>Appends "Name: value" folded at spaces to lines of at most 78 characters where the value allows.</summary>
    static void Header(StringBuilder output, string name, string value, bool foldAfterName = false)
    {
        CheckValue(name, value);
        output.Append(name).Append(':');
        var line = name.Length + 1;
        foreach (var word in value.Split(' '))
        {
            // Fold before a word that would pass 78 characters; the first word stays on the name's line (a fold
            // right after the colon makes some readers keep a leading space) unless the field ignores it.
            if ((foldAfterName || line > name.Length + 1) && line + 1 + word.Length > 78) { output.Append("\r\n "); line = 1; }
            else { output.Append(' '); line++; }
            output.Append(word);
            line += word.Length;
        }
        output.Append("\r\n");
    }

    /// <summary>Unstructured text: as is when printable ASCII, else encoded-words separated by folding spaces.</summary>
    static string Unstructured(string name, string value)
    {
        CheckValue(name, value);
        // Text that looks like an encoded-word is encoded too, or a reader would decode it; so is a word too long
        // to fold, to keep every line within 78 characters.
        var plain = IsPrintableAscii(value) && !value.Contains("=?", StringComparison.Ordinal)
                    && value.Split(' ').All(word => word.Length <= 78 - name.Length - 2);
        return plain ? value : EncodedWords(value, name.Length + 2);
    }

    static bool IsPrintableAscii(string value) => value.All(c => c is >= ' ' and <= '~' or '\t');

    /// <summary>RFC 2047 B-encoded words of whole characters; decoders drop the spaces between adjacent words.</summary>
    /// <param name="firstLineUsed">Characters already on the line of the first word ("Subject: "), so it fits in 78 too.</param>
    static string EncodedWords(string value, int firstLineUsed)
    {
        var words = new List<string>();
        var chunk = new List<byte>(MaxEncodedWordBytes);
        Span<byte> buffer = stackalloc byte[4];
        var budget = Math.Clamp((78 - firstLineUsed - 12) / 4 * 3, 6, MaxEncodedWordBytes);
        foreach (var rune in value.EnumerateRunes())
        {
            var length = rune.EncodeToUtf8(buffer);
            if (chunk.Count + length > (words.Count == 0 ? budget : MaxEncodedWordBytes))
            {
                words.Add($"=?utf-8?B?{Convert.ToBase64String(chunk.ToArray())}?=");
                chunk.Clear();
            }
            chunk.AddRange(buffer[..length].ToArray());
        }
        if (chunk.Count > 0) words.Add($"=?utf-8?B?{Convert.ToBase64String(chunk.ToArray())}?=");
        return string.Join(' ', words);
    }

    /// <summary>A mailbox for an address header: the display name as atoms, a quoted string or encoded-words.</summary>
    static string Mailbox(EmailAddress address)
    {
        if (address.DisplayName is not { } name) return $"<{address.Address}>";
        CheckValue("display name", name);
        string phrase;
        if (!IsPrintableAscii(name)) phrase = EncodedWords(name, "Reply-To: ".Length);
        else if (name.All(c => char.IsAsciiLetterOrDigit(c) || c == ' ' || "!#$%&'*+-/=?^_`{|}~".Contains(c))) phrase = name;
        else phrase = "\"" + name.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return $"{phrase} <{address.Address}>";
    }

    /// <summary>
    /// One body part. Its content stays exact: in a multipart the CRLF before the next boundary belongs to the
    /// boundary (RFC 2046); a single quoted-printable body ends in a soft break, which decodes to nothing.
    /// </summary>
    static void Part(StringBuilder output, string contentType, string body, bool multipart)
    {
        var bytes = Utf8.GetBytes(NormalizeLineEnds(body));
        var quoted = QuotedPrintable(bytes);
        var useBase64 = Base64Length(bytes.Length) < quoted.Length;
        Header(output, "Content-Type", contentType);
        Header(output, "Content-Transfer-Encoding", useBase64 ? "base64" : "quoted-printable");
        output.Append("\r\n");
        output.Append(useBase64 ? Base64Lines(bytes) : quoted);
        if (multipart || useBase64) output.Append("\r\n");
        else if (!quoted.EndsWith("\r\n", StringComparison.Ordinal)) output.Append("=\r\n");
    }

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

    static int Base64Length(int bytes)
    {
        var characters = (bytes + 2) / 3 * 4;
        return characters + (characters + 75) / 76 * 2;
    }

    static string Base64Lines(byte[] bytes)
    {
        var encoded = Convert.ToBase64String(bytes);
        var builder = new StringBuilder(encoded.Length + encoded.Length / 38 + 2);
        for (var i = 0; i < encoded.Length; i += 76)
        {
            if (i > 0) builder.Append("\r\n");
            builder.Append(encoded, i, Math.Min(76, encoded.Length - i));
        }
        return builder.ToString();
    }

    /// <summary>
    /// RFC 2045 6.7: printable ASCII but '=' stays literal, hard line breaks stay, space and tab are encoded at
    /// a line's end, and soft breaks ("=" CRLF) keep every line within 76 characters. A line's leading "." is
    /// encoded too, so no relay's dot handling can touch the content.
    /// </summary>
    internal static string QuotedPrintable(byte[] bytes)
    {
        var builder = new StringBuilder(bytes.Length + bytes.Length / 8 + 16);
        var line = 0;
        const string hex = "0123456789ABCDEF";
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            if (b == '\r' && i + 1 < bytes.Length && bytes[i + 1] == '\n')
            {
                builder.Append("\r\n");
                line = 0;
                i++;
                continue;
            }
            var atLineEnd = i + 1 == bytes.Length || bytes[i + 1] == '\r' && i + 2 < bytes.Length && bytes[i + 2] == '\n';
            var literal = b is >= 33 and <= 126 && b != '=' && !(b == '.' && line == 0) || b is (byte)' ' or (byte)'\t' && !atLineEnd;
            var width = literal ? 1 : 3;
            // Room for the character and, unless the line ends right after it, a soft break's "=".
            var needed = atLineEnd ? width : width + 1;
            if (line + needed > QuotedPrintableLine)
            {
                builder.Append("=\r\n");
                line = 0;
                if (b == '.') { literal = false; width = 3; }
            }
            if (literal) builder.Append((char)b);
            else builder.Append('=').Append(hex[b >> 4]).Append(hex[b & 15]);
            line += width;
        }
        return builder.ToString();
    }
}
