using System.Text;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>Random message text with what breaks naive mail code: umlauts, emoji, long lines, leading dots, every line end.</summary>
public static class RandomMessages
{
    /// <summary>Every kind of line end as LF: Python gives LF for quoted-printable, the canonical CRLF for base64.</summary>
    public static string Lf(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n');

    public static string Text(Random random, int length, bool lines)
    {
        string[] pieces = ["ä", "ß", "€", "😀", "日本", " ", "  ", "\t", "=", "=3D", ".", "From ", "=?utf-8?B?QQ==?=", "<b>", "&amp;", "x", "Lorem ipsum"];
        string[] breaks = ["\r\n", "\n", "\r", "\n.", "\n..\n", " \n", "\t\r\n"];
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            if (lines && random.Next(12) == 0) builder.Append(breaks[random.Next(breaks.Length)]);
            else if (random.Next(30) == 0) builder.Append(new string('y', random.Next(70, 200)));
            else builder.Append(pieces[random.Next(pieces.Length)]);
        }
        var result = builder.ToString().TrimEnd('\r');
        return lines ? result : result.Trim();
    }

}
