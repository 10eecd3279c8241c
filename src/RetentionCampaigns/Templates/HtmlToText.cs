using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace RetentionCampaigns.Templates;

/// <summary>
/// The plain-text part for a template that has none: block elements become line breaks, links keep their
/// address ("text (https://...)"), list items get a dash, head, style and script go, entities are decoded,
/// and runs of blank lines collapse to one.
/// </summary>
public static partial class HtmlToText
{
    public static string Convert(string html)
    {
        var text = DroppedElements().Replace(html, "");
        text = Comments().Replace(text, "");
        text = Links().Replace(text, match =>
        {
            var href = WebUtility.HtmlDecode(match.Groups["href"].Value).Trim();
            var label = Tags().Replace(match.Groups["label"].Value, "").Trim();
            var decodedLabel = WebUtility.HtmlDecode(Whitespace().Replace(label, " "));
            if (href.Length == 0 || href.StartsWith('#') || href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) && decodedLabel.Contains('@'))
                return label;
            return decodedLabel == href || label.Length == 0 ? href : $"{label} ({href})";
        });
        text = Whitespace().Replace(text, " ");
        text = ListItems().Replace(text, "\n- ");
        text = LineBreaks().Replace(text, "\n");
        text = BlockEnds().Replace(text, "\n\n");
        text = Tags().Replace(text, "");
        text = WebUtility.HtmlDecode(text).Replace('\u00A0', ' ');

        var builder = new StringBuilder(text.Length);
        var blank = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0)
            {
                if (builder.Length > 0) blank++;
                continue;
            }
            if (blank > 0) builder.Append('\n');
            blank = 0;
            builder.Append(line).Append('\n');
        }
        return builder.ToString();
    }

    [GeneratedRegex(@"<(head|style|script|title)\b[^>]*>.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex DroppedElements();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex Comments();

    [GeneratedRegex(@"<a\b[^>]*?\bhref\s*=\s*[""'](?<href>[^""']*)[""'][^>]*>(?<label>.*?)</a\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Links();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"<li\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ListItems();

    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreaks();

    [GeneratedRegex(@"</(p|div|h[1-6]|tr|table|ul|ol|blockquote)\s*>|<(p|div|h[1-6]|tr|table|hr)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockEnds();

    [GeneratedRegex(@"<[^>]+>")]
    private static partial Regex Tags();
}
