using MimeKit;

namespace RetentionCampaigns.Mail.Bounces;

public enum BounceKind
{
    /// <summary>The address does not exist or is disabled (5.1.x, 5.2.1): suppress it.</summary>
    Hard,
    /// <summary>A failure not about the address (full mailbox, policy, too big) or a delay: counted, not suppressed.</summary>
    Soft,
    /// <summary>A spam complaint (ARF abuse or fraud): suppress the address and withdraw marketing consent.</summary>
    Complaint,
    /// <summary>A report that needs nothing done (a delivery success, an ARF not-spam).</summary>
    Informational,
    /// <summary>Neither a delivery status notification nor a feedback report we can read: kept for a person to look at.</summary>
    Unparseable,
}

/// <summary>
/// What a message in the bounce mailbox says: a delivery status notification (RFC 3464) or a feedback report
/// (ARF, RFC 5965), with everything that can tie it to our delivery: the addresses it was sent to (our VERP return
/// path), the original message's Message-ID and delivery header, and the original envelope sender.
/// </summary>
public sealed record BounceReport(
    BounceKind Kind,
    string Summary,
    string? MessageId,
    string? Recipient,
    string? Status,
    string? Diagnostic,
    IReadOnlyList<string> Addressees,
    string? OriginalMessageId,
    string? OriginalDeliveryHeader)
{
    static readonly string[] AddresseeHeaders = ["Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To"];

    /// <summary>Reads a message; anything it cannot make sense of is <see cref="BounceKind.Unparseable"/>, never an exception.</summary>
    /// <param name="deliveryHeader">Our header naming the delivery in every message we send (e.g. X-RC-Delivery).</param>
    public static BounceReport Read(byte[] raw, string deliveryHeader)
    {
        MimeMessage message;
        try
        {
            using var stream = new MemoryStream(raw, writable: false);
            message = MimeMessage.Load(stream);
        }
        catch (FormatException e)
        {
            return new BounceReport(BounceKind.Unparseable, $"not a readable email: {e.Message}", null, null, null, null, [], null, null);
        }
        using (message)
        {
            var addressees = new List<string>();
            foreach (var name in AddresseeHeaders)
                foreach (var header in message.Headers.Where(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)))
                    addressees.AddRange(Addresses(header.Value));
            var messageId = message.MessageId;
            var report = message.BodyParts.OfType<MessageDeliveryStatus>().FirstOrDefault();
            var feedback = message.BodyParts.OfType<MessageFeedbackReport>().FirstOrDefault();
            var original = message.BodyParts.OfType<MessagePart>().Select(p => p.Message).FirstOrDefault(m => m is not null);
            var originalId = original?.MessageId;
            var originalDelivery = original?.Headers[deliveryHeader];
            if (original?.Headers[HeaderId.ReturnPath] is { } returnPath) addressees.AddRange(Addresses(returnPath));

            if (feedback is not null)
            {
                var fields = feedback.Fields;
                if (fields["Original-Mail-From"] is { } mailFrom) addressees.AddRange(Addresses(mailFrom));
                var type = (fields["Feedback-Type"] ?? "").Trim().ToLowerInvariant();
                var recipient = fields["Original-Rcpt-To"] is { } rcpt ? Addresses(rcpt).FirstOrDefault() : null;
                var kind = type is "not-spam" or "virus" ? BounceKind.Informational : BounceKind.Complaint;
                var reporter = fields["Reported-Domain"] ?? fields["Reporting-MTA"] ?? fields["User-Agent"];
                return new BounceReport(kind, $"feedback report: {(type.Length == 0 ? "unspecified" : type)}{(reporter is null ? "" : $" from {reporter.Trim()}")}",
                    messageId, recipient, null, null, addressees, originalId, originalDelivery);
            }
            if (report is not null)
            {
                var groups = report.StatusGroups;
                HeaderList? chosen = null;
                for (var i = 1; i < groups.Count; i++)
                {
                    var action = groups[i]["Action"]?.Trim().ToLowerInvariant();
                    if (action is "failed" or "delayed") { chosen = groups[i]; break; }
                    chosen ??= groups[i];
                }
                if (chosen is null)
                    return new BounceReport(BounceKind.Unparseable, "a delivery status notification without a recipient", messageId, null, null, null, addressees, originalId, originalDelivery);
                var actionText = chosen["Action"]?.Trim().ToLowerInvariant() ?? "";
                var status = chosen["Status"]?.Trim();
                var recipient = Typed(chosen["Final-Recipient"]) ?? Typed(chosen["Original-Recipient"]);
                var diagnostic = Typed(chosen["Diagnostic-Code"]);
                var kind = actionText switch
                {
                    "failed" when DeliveryStatusCodes.AddressGone(status) => BounceKind.Hard,
                    "failed" or "delayed" => BounceKind.Soft,
                    _ => BounceKind.Informational,
                };
                var summary = $"delivery status: {(actionText.Length == 0 ? "no action" : actionText)}{(status is null ? "" : $" {status}")}{(diagnostic is null ? "" : $": {diagnostic}")}";
                return new BounceReport(kind, summary, messageId, recipient, status, diagnostic, addressees, originalId, originalDelivery);
            }
            return new BounceReport(BounceKind.Unparseable, $"neither a delivery status notification nor a feedback report (subject: {message.Subject})",
                messageId, null, null, null, addressees, originalId, originalDelivery);
        }
    }

    /// <summary>"rfc822; anna@example.com" or "smtp; 550 5.1.1 ..." without its type.</summary>
    static string? Typed(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var text = value.Trim();
        var semicolon = text.IndexOf(';');
        text = (semicolon >= 0 ? text[(semicolon + 1)..] : text).Trim();
        return string.Join(' ', text.Split((char[])['\r', '\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
    }

    static IEnumerable<string> Addresses(string value)
    {
        if (InternetAddressList.TryParse(value.Trim(), out var list))
            return list.Mailboxes.Select(m => m.Address).ToList();
        return [value.Trim().Trim('<', '>')];
    }
}
