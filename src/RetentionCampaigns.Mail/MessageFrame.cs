using System.Text;
using MimeKit;

namespace RetentionCampaigns.Mail;

/// <summary>
/// The part of a message that is the same for every recipient of a run (per locale) or of one kind of notice: the
/// sender, the reply address and fixed headers such as Feedback-ID. Checked and encoded once, when it is made;
/// each message then takes copies of the ready headers instead of encoding them again.
/// </summary>
public sealed class MessageFrame
{
    public EmailAddress From { get; }
    public EmailAddress? ReplyTo { get; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
    public bool NeedsSmtpUtf8 { get; }
    /// <summary>The domain generated Message-IDs are on (the sender's).</summary>
    public string Domain { get; }

    /// <summary>From, Reply-To and the fixed headers, encoded; each message gets clones (a header belongs to one message).</summary>
    internal IReadOnlyList<Header> EncodedHeaders { get; }

    public MessageFrame(EmailAddress from, EmailAddress? replyTo = null, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        From = from;
        ReplyTo = replyTo;
        Headers = headers?.ToList() ?? [];
        NeedsSmtpUtf8 = from.NeedsSmtpUtf8 || replyTo?.NeedsSmtpUtf8 == true;
        Domain = from.Address[(from.Address.LastIndexOf('@') + 1)..];
        var encoded = new List<Header> { AddressHeader(HeaderId.From, [from]) };
        if (replyTo is not null) encoded.Add(AddressHeader(HeaderId.ReplyTo, [replyTo]));
        encoded.Add(new Header(HeaderId.MimeVersion, "1.0"));
        foreach (var (name, value) in Headers) encoded.Add(MessageComposer.CustomHeader(name, value));
        EncodedHeaders = encoded;
    }

    static readonly FormatOptions International = InternationalFormat();

    static FormatOptions InternationalFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.International = true;
        return format;
    }

    /// <summary>An address header encoded and folded by MimeKit (RFC 2047 display names).</summary>
    internal static Header AddressHeader(HeaderId id, IReadOnlyList<EmailAddress> addresses)
    {
        if (addresses is [{ DisplayName: null, NeedsSmtpUtf8: false } only])
        {
            // A bare ASCII address, as campaign mail has: nothing to encode or fold.
            var bare = new Header(id, "");
            bare.SetRawValue(Encoding.ASCII.GetBytes(" " + only.Address + "\r\n"));
            return bare;
        }
        var list = new InternetAddressList();
        var international = false;
        foreach (var address in addresses)
        {
            MessageComposer.CheckValue("display name", address.DisplayName ?? "");
            list.Add(new MailboxAddress(address.DisplayName ?? "", address.Address));
            international |= address.NeedsSmtpUtf8;
        }
        var header = new Header(id, "");
        // A non-ASCII local part has no ASCII form: such a message goes only with SMTPUTF8, whose headers are UTF-8 (RFC 6532).
        header.SetValue(international ? International : FormatOptions.Default, Encoding.UTF8, list.ToString(FormatOptions.Default, encode: false));
        return header;
    }
}
