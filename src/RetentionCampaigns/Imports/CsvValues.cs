using System.Globalization;
using System.Text.RegularExpressions;

namespace RetentionCampaigns.Imports;

/// <summary>Parsing of the value formats shops export: ISO or German dates, decimal point or decimal comma.</summary>
public static partial class CsvValues
{
    static readonly string[] IsoLocalFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
    ];
    static readonly string[] GermanFormats = ["d.M.yyyy", "d.M.yyyy H:mm", "d.M.yyyy H:mm:ss"];

    [GeneratedRegex(@"(Z|[+-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetSuffix();

    /// <summary>A time as UTC; times without an offset are read in <paramref name="zone"/>.</summary>
    public static bool TryParseTime(string text, TimeZoneInfo zone, out DateTime utc)
    {
        utc = default;
        text = text.Trim();
        if (OffsetSuffix().IsMatch(text))
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset)) return false;
            utc = withOffset.UtcDateTime;
            return true;
        }
        var formats = text.Length > 2 && (text[1] == '.' || text[2] == '.') ? GermanFormats : IsoLocalFormats;
        if (!DateTime.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)) return false;
        if (zone.IsInvalidTime(local)) local = local.AddHours(1); // a wall-clock time skipped by the DST change
        utc = TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone);
        return true;
    }

    /// <summary>
    /// "12.50", "12,50", "1.234,56" and "1,234.56": where both marks appear the last one is the decimal mark;
    /// a lone comma is a decimal comma. Thousands groups must have three digits.
    /// </summary>
    public static bool TryParseAmount(string text, out decimal amount)
    {
        amount = 0;
        text = text.Trim().Replace(" ", "").Replace("\u00A0", "").Replace("€", "");
        if (text.Length == 0) return false;
        var lastComma = text.LastIndexOf(',');
        var lastDot = text.LastIndexOf('.');
        char decimalMark = lastComma > lastDot ? ',' : '.';
        char groupMark = decimalMark == ',' ? '.' : ',';
        var decimalAt = text.LastIndexOf(decimalMark);
        var integerPart = decimalAt >= 0 ? text[..decimalAt] : text;
        var fraction = decimalAt >= 0 ? text[(decimalAt + 1)..] : "";
        if (integerPart.Contains(decimalMark) || fraction.Contains(groupMark)) return false;
        if (integerPart.Contains(groupMark))
        {
            var groups = integerPart.TrimStart('-').Split(groupMark);
            if (groups[0].Length is 0 or > 3 || groups.Skip(1).Any(g => g.Length != 3)) return false;
            integerPart = integerPart.Replace(groupMark.ToString(), "");
        }
        return decimal.TryParse(fraction.Length > 0 ? $"{integerPart}.{fraction}" : integerPart,
            NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out amount);
    }

    /// <summary>Header names compared without case, spaces, dashes, dots or underscores.</summary>
    public static string HeaderKey(string header) =>
        new(header.Trim().TrimStart('\uFEFF').Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant).ToArray());
}
