namespace RetentionCampaigns.Mail;

/// <summary>One email to send: who, what, and the headers bulk senders must carry.</summary>
public sealed record OutgoingMessage
{
    /// <summary>What every message of a run (or of one kind of notice) shares: sender, reply address, fixed headers.</summary>
    public required MessageFrame Frame { get; init; }
    public required IReadOnlyList<EmailAddress> To { get; init; }
    /// <summary>The envelope sender (MAIL FROM, where bounces go): a VERP address per delivery, or the From address.</summary>
    public EmailAddress? ReturnPath { get; init; }
    public required string Subject { get; init; }
    public required string TextBody { get; init; }
    /// <summary>Null for a text-only message.</summary>
    public string? HtmlBody { get; init; }
    /// <summary>Without angle brackets; generated on the frame's domain when not set.</summary>
    public string? MessageId { get; init; }
    public DateTimeOffset? Date { get; init; }
    /// <summary>The one-click unsubscribe URL (RFC 8058): written as List-Unsubscribe with List-Unsubscribe-Post.</summary>
    public string? UnsubscribeUrl { get; init; }
    /// <summary>A mailto: unsubscribe address offered next to the URL (RFC 2369).</summary>
    public string? UnsubscribeMailto { get; init; }
    /// <summary>Headers of this message only (e.g. the delivery's id); the frame's come first.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public EmailAddress EnvelopeSender => ReturnPath ?? Frame.From;

    public bool NeedsSmtpUtf8 => Frame.NeedsSmtpUtf8 || To.Any(t => t.NeedsSmtpUtf8) || ReturnPath?.NeedsSmtpUtf8 == true;
}
