using System.Text;
using MimeKit;

namespace RetentionCampaigns.Tests;

/// <summary>
/// A message the app wrote to its pickup folder, read with MimeKit: the raw file, the delivery header, the
/// recipients' addresses, the decoded subject and the decoded text of every body part.
/// </summary>
public sealed record OutboxMessage(string Raw, string Delivery, string Text, IReadOnlyList<string> To, string Subject)
{
    public static List<OutboxMessage> ReadAll(string outbox) => !Directory.Exists(outbox) ? [] : Directory.GetFiles(outbox, "*.eml").Order().Select(Read).ToList();

    public static OutboxMessage Read(string file)
    {
        using var message = MimeMessage.Load(file);
        var text = new StringBuilder();
        foreach (var part in message.BodyParts.OfType<TextPart>()) text.Append(part.Text);
        return new OutboxMessage(File.ReadAllText(file), message.Headers["X-RC-Delivery"] ?? "", text.ToString(),
            message.To.Mailboxes.Select(m => m.Address).ToList(), message.Subject ?? "");
    }

    public bool IsTo(string address) => To.Any(a => a.Equals(address, StringComparison.OrdinalIgnoreCase));
}
