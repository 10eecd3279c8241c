using System.Globalization;

namespace RetentionCampaigns.Mail;

/// <summary>
/// A mailbox: an address (RFC 5321 syntax; international domain names become their A-label form) and an
/// optional display name. A non-ASCII local part is kept and marks the message as needing SMTPUTF8 (RFC 6531).
/// </summary>
public sealed record EmailAddress
{
    public string Address { get; }
    public string? DisplayName { get; }
    public bool NeedsSmtpUtf8 { get; }

    EmailAddress(string address, string? displayName, bool needsSmtpUtf8) =>
        (Address, DisplayName, NeedsSmtpUtf8) = (address, displayName, needsSmtpUtf8);

    static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    public static EmailAddress Parse(string address, string? displayName = null) =>
        TryParse(address, displayName, out var result, out var error) ? result! : throw new FormatException(error);

    public static bool TryParse(string? address, string? displayName, out EmailAddress? result, out string? error)
    {
        result = null;
        error = null;
        address = address?.Trim();
        if (string.IsNullOrEmpty(address)) { error = "The address is empty."; return false; }
        if (displayName is not null && displayName.AsSpan().IndexOfAny('\r', '\n') >= 0) { error = "The display name contains a line break."; return false; }
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1) { error = $"'{address}' is not an address: it needs a local part, an @ and a domain."; return false; }
        var local = address[..at];
        var domain = address[(at + 1)..];
        if (local.Length > 64) { error = "The local part is longer than 64 octets (RFC 5321)."; return false; }
        if (!IsDotAtom(local)) { error = $"The local part '{local}' has characters an address cannot carry unquoted."; return false; }
        string asciiDomain;
        try
        {
            asciiDomain = Idn.GetAscii(domain.TrimEnd('.'));
        }
        catch (ArgumentException)
        {
            error = $"'{domain}' is not a valid domain name.";
            return false;
        }
        if (!asciiDomain.Contains('.') || asciiDomain.Length > 253) { error = $"'{domain}' is not a valid domain name."; return false; }
        var full = $"{local}@{asciiDomain.ToLowerInvariant()}";
        if (full.Length > 254) { error = "The address is longer than 254 octets."; return false; }
        result = new EmailAddress(full, string.IsNullOrWhiteSpace(displayName) ? null : displayName.Trim(), local.Any(c => c > 127));
        return true;
    }

    /// <summary>RFC 5322 dot-atom, extended with non-ASCII characters (RFC 6532).</summary>
    static bool IsDotAtom(string local)
    {
        if (local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal)) return false;
        foreach (var c in local)
        {
            if (c > 127) { if (char.IsControl(c) || char.IsWhiteSpace(c)) return false; continue; }
            if (char.IsAsciiLetterOrDigit(c) || c == '.' || "!#$%&'*+-/=?^_`{|}~".Contains(c)) continue;
            return false;
        }
        return true;
    }

    public override string ToString() => DisplayName is null ? Address : $"{DisplayName} <{Address}>";
}
