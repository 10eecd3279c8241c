using System.Text;
using System.Text.RegularExpressions;

namespace RetentionCampaigns.Tests;

/// <summary>A message the app wrote to its pickup folder: the raw file, the delivery header and the decoded text of every body part.</summary>
public sealed partial record OutboxMessage(string Raw, string Delivery, string Text)
{
    public static List<OutboxMessage> ReadAll(string outbox) => !Directory.Exists(outbox) ? [] : Directory.GetFiles(outbox, "*.eml").Order().Select(file =>
    {
        var eml = File.ReadAllText(file);
        var delivery = Regex.Match(eml, @"X-RC-Delivery: (\S+)\r\n").Groups[1].Value;
        var text = new StringBuilder();
        foreach (Match part in PartPattern().Matches(eml))
        {
            var body = part.Groups["body"].Value;
            text.Append(part.Groups["encoding"].Value == "base64"
                ? Encoding.UTF8.GetString(Convert.FromBase64String(body.Replace("\r\n", "")))
                : Encoding.UTF8.GetString(QuotedPrintable(body.Replace("=\r\n", ""))));
        }
        return new OutboxMessage(eml, delivery, text.ToString());
    }).ToList();

    static byte[] QuotedPrintable(string text)
    {
        var bytes = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '=' && i + 2 < text.Length) { bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16)); i += 2; }
            else bytes.Add((byte)text[i]);
        }
        return bytes.ToArray();
    }

    [GeneratedRegex(@"Content-Transfer-Encoding: (?<encoding>[\w-]+)\r\n(?:[^\r\n]+\r\n)*\r\n(?<body>.*?)(?=\r\n--|\z)", RegexOptions.Singleline)]
    private static partial Regex PartPattern();
}
