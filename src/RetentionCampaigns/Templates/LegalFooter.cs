using System.Net;

namespace RetentionCampaigns.Templates;

/// <summary>
/// What every marketing email carries whatever its template says: the unsubscribe link (UWG section 7, RFC 8058's
/// promise in the body too) and the sender's postal address (the imprint the law asks of commercial email), in
/// the HTML and in the text part. Senders refuse a rendered message without them, behind the template check.
/// </summary>
public static class LegalFooter
{
    /// <summary>Null when the message carries both; otherwise what it lacks, in words a marketer can act on.</summary>
    public static string? Missing(RenderedMessage message, TemplateModel model)
    {
        List<string> missing = [];
        Check(model.Links.Unsubscribe, "the unsubscribe link");
        Check(model.Sender.PostalAddress, "the postal address");
        return missing.Count == 0 ? null : $"not sent: the rendered message lacks {string.Join(" and ", missing)}; every marketing email must carry both";

        void Check(string value, string what)
        {
            var inHtml = InHtml(message.Html, value);
            var inText = message.Text.Contains(value, StringComparison.Ordinal);
            if (!inHtml || !inText) missing.Add(inHtml ? $"{what} in its text part" : inText ? $"{what} in its HTML" : what);
        }
    }

    // Templates encode what they print into HTML: look at the decoded text only when the plain one is not there.
    static bool InHtml(string html, string value) =>
        html.Contains(value, StringComparison.Ordinal) || WebUtility.HtmlDecode(html).Contains(value, StringComparison.Ordinal);
}
