using System.Text.RegularExpressions;

namespace RetentionCampaigns.Mail;

/// <summary>What a server's reply means for a message: 4xx try again later, 5xx do not; the enhanced status code (RFC 3463) says more.</summary>
static partial class SmtpReplies
{
    [GeneratedRegex(@"^\s*([245]\.\d{1,3}\.\d{1,3})\b")]
    private static partial Regex EnhancedStatusCode();

    public static string? EnhancedStatus(string? text) =>
        text is not null && EnhancedStatusCode().Match(text) is { Success: true } match ? match.Groups[1].Value : null;

    public static SendResult Failed(string messageId, int code, string text)
    {
        var reply = text.StartsWith(code.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) ? text : $"{code} {text}";
        return new SendResult(code >= 500 ? SendOutcome.Permanent : SendOutcome.Transient, messageId, code, EnhancedStatus(text), reply.Trim());
    }
}
