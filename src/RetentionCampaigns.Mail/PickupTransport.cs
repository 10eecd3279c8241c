namespace RetentionCampaigns.Mail;

/// <summary>
/// Writes each message as an .eml file into a folder (the embedded default: no mail server needed). A message
/// appears whole or not at all: it is written under a temporary name and then renamed.
/// </summary>
public sealed class PickupTransport(string directory, TimeProvider? clock = null) : IMailTransport
{
    readonly TimeProvider clock = clock ?? TimeProvider.System;

    public string Directory { get; } = Path.GetFullPath(directory);
    public string Description => $"pickup folder {Directory}";
    public int MaxInFlight => 4;

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var (bytes, messageId) = MimeWriter.Write(message, clock.GetUtcNow());
        var name = $"{clock.GetUtcNow():yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid():N}";
        var temporary = Path.Combine(Directory, name + ".tmp");
        await File.WriteAllBytesAsync(temporary, bytes, ct);
        File.Move(temporary, Path.Combine(Directory, name + ".eml"));
        return SendResult.Accepted(messageId, $"written to {name}.eml");
    }
}
