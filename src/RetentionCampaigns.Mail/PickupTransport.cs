using MimeKit;

namespace RetentionCampaigns.Mail;

/// <summary>
/// Writes each message as an .eml file into a folder (the embedded default: no mail server needed). A message
/// appears whole or not at all: it is written under a temporary name and then renamed.
/// </summary>
public sealed class PickupTransport(string directory, TimeProvider? clock = null, DkimSigning? dkim = null) : IMailTransport
{
    readonly TimeProvider clock = clock ?? TimeProvider.System;
    static readonly FormatOptions Crlf = CrlfFormat();

    public string Directory { get; } = Path.GetFullPath(directory);
    public string Description => $"pickup folder {Directory}";
    public int MaxInFlight => 4;

    static FormatOptions CrlfFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.EnsureNewLine = true;
        return format;
    }

    public async Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken ct)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var (mime, messageId) = MessageComposer.Compose(message, clock.GetUtcNow());
        using (mime)
        {
            dkim?.Sign(mime);
            var name = $"{clock.GetUtcNow():yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid():N}";
            var temporary = Path.Combine(Directory, name + ".tmp");
            await using (var file = File.Create(temporary))
                await mime.WriteToAsync(Crlf, file, ct);
            File.Move(temporary, Path.Combine(Directory, name + ".eml"));
            return SendResult.Accepted(messageId, $"written to {name}.eml");
        }
    }
}
