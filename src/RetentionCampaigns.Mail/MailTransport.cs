namespace RetentionCampaigns.Mail;

public enum SendOutcome
{
    /// <summary>The server took responsibility for the message (2xx after the data).</summary>
    Accepted,
    /// <summary>4xx: try again later.</summary>
    Transient,
    /// <summary>5xx: do not retry; the reply says why (<see cref="DeliveryStatusCodes.AddressGone"/> tells a bad address).</summary>
    Permanent,
    /// <summary>The connection was lost after the final dot and before the reply: it may or may not have been accepted.</summary>
    InDoubt,
}

/// <summary>What an enhanced status code (RFC 3463) says about the address it was sent to.</summary>
public static class DeliveryStatusCodes
{
    /// <summary>
    /// The address does not exist or is disabled (5.1.x, 5.2.1): mail to it will never arrive, so it is suppressed.
    /// Other permanent failures (a full mailbox, a policy or spam refusal, a message too big) say nothing about
    /// the address and are not a reason to stop mailing a customer.
    /// </summary>
    public static bool AddressGone(string? status) =>
        status is not null && (status.StartsWith("5.1.", StringComparison.Ordinal) || status == "5.2.1" || status.StartsWith("5.2.1 ", StringComparison.Ordinal));
}

/// <summary>What became of one message, with the server's reply where there is one.</summary>
public sealed record SendResult(SendOutcome Outcome, string MessageId, int? ReplyCode = null, string? EnhancedStatus = null, string? Reply = null)
{
    public static SendResult Accepted(string messageId, string? reply = null) => new(SendOutcome.Accepted, messageId, 250, null, reply);
}

/// <summary>Where messages go: an SMTP server, or a folder of .eml files.</summary>
public interface IMailTransport
{
    /// <summary>A short description for logs and reports, e.g. "pickup folder /srv/outbox".</summary>
    string Description { get; }
    /// <summary>How many messages may be on their way at once (an SMTP pool's connections).</summary>
    int MaxInFlight { get; }
    Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken ct);
}
