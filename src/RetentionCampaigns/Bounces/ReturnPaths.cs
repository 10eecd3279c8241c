using System.Globalization;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Links;
using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Bounces;

/// <summary>
/// VERP return paths (one envelope sender per delivery, e.g. <c>bounces+12.3456.01a2b3c4d5e6@bounces.shop.example</c>):
/// a bounce comes back to the address of the very delivery it is about, whatever the remote server's report says.
/// The tag is an HMAC with the link keys, so a forged bounce cannot suppress someone else's address.
/// </summary>
public sealed class ReturnPaths(IOptions<BounceOptions> options, LinkTokens tokens)
{
    public bool Enabled => !string.IsNullOrWhiteSpace(options.Value.Domain);

    /// <summary>The envelope sender for one delivery; null without a bounce domain (the From address is used).</summary>
    public EmailAddress? For(long runId, long customerId)
    {
        if (!Enabled) return null;
        var payload = Payload(runId, customerId);
        return EmailAddress.Parse($"{options.Value.LocalPart}+{payload}.{tokens.ShortTag(payload)}@{options.Value.Domain}");
    }

    /// <summary>The delivery a VERP address names, if it is one of ours and its tag is right.</summary>
    public (long RunId, long CustomerId)? Read(string? address)
    {
        if (address is null || !Enabled) return null;
        address = address.Trim().Trim('<', '>');
        var at = address.LastIndexOf('@');
        if (at < 0 || !address[(at + 1)..].Equals(options.Value.Domain!.Trim(), StringComparison.OrdinalIgnoreCase)) return null;
        var local = address[..at];
        var prefix = options.Value.LocalPart + "+";
        if (!local.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return null;
        var parts = local[prefix.Length..].Split('.');
        if (parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var run)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var customer)) return null;
        return tokens.VerifyShortTag(Payload(run, customer), parts[2]) ? (run, customer) : null;
    }

    static string Payload(long runId, long customerId) => $"{runId.ToString(CultureInfo.InvariantCulture)}.{customerId.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Section <c>Mail:Bounces</c>: where bounces go (VERP) and the mailbox they are read from.</summary>
public sealed class BounceOptions
{
    /// <summary>The domain of the return paths, whose mail reaches <see cref="Mailbox"/> (e.g. bounces.shop.example); off when empty.</summary>
    public string? Domain { get; set; }
    /// <summary>The local part before the "+" of every return path.</summary>
    public string LocalPart { get; set; } = "bounces";
    public RetentionCampaigns.Mail.Bounces.BounceMailboxOptions Mailbox { get; set; } = new();
    /// <summary>How often the mailbox is read.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(5);
}
