namespace RetentionCampaigns.Mail;

/// <summary>One email to send: who, what, and the headers bulk senders must carry.</summary>
public sealed record OutgoingMessage
{
    public required EmailAddress From { get; init; }
    public required IReadOnlyList<EmailAddress> To { get; init; }
    public EmailAddress? ReplyTo { get; init; }
    /// <summary>The envelope sender (MAIL FROM, where bounces go); the From address when not set.</summary>
    public EmailAddress? ReturnPath { get; init; }
    public required string Subject { get; init; }
    public required string TextBody { get; init; }
    /// <summary>Null for a text-only message.</summary>
    public string? HtmlBody { get; init; }
    /// <summary>Without angle brackets; generated from the From domain when not set.</summary>
    public string? MessageId { get; init; }
    public DateTimeOffset? Date { get; init; }
    /// <summary>The one-click unsubscribe URL (RFC 8058): written as List-Unsubscribe with List-Unsubscribe-Post.</summary>
    public string? UnsubscribeUrl { get; init; }
    /// <summary>A mailto: unsubscribe address offered next to the URL (RFC 2369).</summary>
    public string? UnsubscribeMailto { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public bool NeedsSmtpUtf8 => From.NeedsSmtpUtf8 || To.Any(t => t.NeedsSmtpUtf8) || ReplyTo?.NeedsSmtpUtf8 == true || ReturnPath?.NeedsSmtpUtf8 == true;
}
