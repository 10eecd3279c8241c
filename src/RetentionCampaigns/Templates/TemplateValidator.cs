using System.Net;
using System.Text.RegularExpressions;

namespace RetentionCampaigns.Templates;

/// <summary>
/// The check at save: syntax and names per part on Scriban's parse tree (with positions), then a render against sample data that lints the result: a marketing email must carry the unsubscribe link, every
/// email the sender's postal address, and a subject over 78 characters earns a warning (RFC 5322's line length;
/// mail clients cut long subjects).
/// </summary>
public sealed partial class TemplateValidator(TemplateEngine engine)
{
    public const int SubjectWarningLength = 78;

    public List<TemplateFinding> Validate(string kind, IReadOnlyDictionary<string, TemplateContent> content)
    {
        var findings = new List<TemplateFinding>();
        foreach (var locale in LocaleFormat.Supported.Where(l => !content.ContainsKey(l)))
            findings.Add(new(TemplateFinding.Warning, locale, "template", null, null,
                $"No '{locale}' version: customers with locale '{locale}' get the campaign's default language."));

        foreach (var (locale, parts) in content)
        {
            var partFindings = new List<TemplateFinding>();
            Check(locale, "subject", parts.Subject, html: false, partFindings);
            Check(locale, "html", parts.Html, html: true, partFindings);
            CheckLinks(locale, parts.Html, partFindings);
            if (parts.Text is not null) Check(locale, "text", parts.Text, html: false, partFindings);
            findings.AddRange(partFindings);
            if (partFindings.Any(f => f.Severity == TemplateFinding.Error)) continue;
            Lint(kind, locale, parts, findings);
        }
        // The same problem (an unknown variable used five times, a missing footer) is worth one line per language.
        return findings.DistinctBy(f => (f.Severity, f.Locale, f.Message)).ToList();
    }

    [GeneratedRegex(@"\b(?<attribute>href|src)\s*=\s*(?:""(?<value>[^""]*)""|'(?<value>[^']*)')", RegexOptions.IgnoreCase)]
    private static partial Regex LinkAttribute();

    /// <summary>
    /// Links written into the HTML itself: an email has no base address, so a relative link leads nowhere, and a
    /// script or data address is refused by mail clients or worse. Addresses made by expressions are checked where made.
    /// </summary>
    static void CheckLinks(string locale, string source, List<TemplateFinding> findings)
    {
        foreach (Match match in LinkAttribute().Matches(source))
        {
            var value = match.Groups["value"].Value.Trim();
            if (value.StartsWith("{{", StringComparison.Ordinal) || value.StartsWith('#')) continue;
            var scheme = value.IndexOf(':') is var colon and > 0 && value[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.') ? value[..colon].ToLowerInvariant() : null;
            var message = scheme switch
            {
                "http" or "https" or "mailto" or "tel" => null,
                null => $"The link \"{value}\" is relative: an email has no base address, so it leads nowhere. Write an absolute https:// address (or {{{{ links.shop }}}}).",
                _ => $"The link \"{value}\" uses {scheme}:, which emails must not: only https://, http://, mailto: and tel: links are allowed.",
            };
            if (message is null) continue;
            var (line, column) = TemplateChecker.LineAndColumn(source, match.Groups["value"].Index);
            findings.Add(new(TemplateFinding.Error, locale, "html", line, column, message));
        }
    }

    void Check(string locale, string part, string source, bool html, List<TemplateFinding> findings)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            findings.Add(new(TemplateFinding.Error, locale, part, null, null, $"The {part} is empty."));
            return;
        }
        foreach (var (line, column, message) in TemplateChecker.Check(source, engine.Partials, engine.Sandbox))
            findings.Add(new(TemplateFinding.Error, locale, part, line, column, message));
    }

    void Lint(string kind, string locale, TemplateContent parts, List<TemplateFinding> findings)
    {
        var model = SampleModels.For(locale);
        RenderedMessage message;
        try
        {
            message = engine.Render(parts, model);
        }
        catch (TemplateRenderException exception)
        {
            findings.Add(new(TemplateFinding.Error, locale, "template", null, null, exception.Message));
            return;
        }
        var textPart = parts.Text is null ? "html" : "text";
        if (kind == TemplateKinds.Marketing)
        {
            if (!message.Html.Contains(model.Links.Unsubscribe, StringComparison.Ordinal))
                findings.Add(new(TemplateFinding.Error, locale, "html", null, null,
                    "The HTML part has no unsubscribe link: include {{ include \"footer\" }} (or the layout), or link to {{ links.unsubscribe }}."));
            if (parts.Text is not null && !message.Text.Contains(model.Links.Unsubscribe, StringComparison.Ordinal))
                findings.Add(new(TemplateFinding.Error, locale, "text", null, null,
                    "The text part has no unsubscribe link: include {{ include \"footer\" }} (or the layout), or write {{ links.unsubscribe }}."));
        }
        foreach (var (part, output) in new[] { ("html", message.Html), (textPart, message.Text) }.Distinct())
            if (!(part == "html" ? WebUtility.HtmlDecode(output) : output).Contains(model.Sender.PostalAddress, StringComparison.Ordinal))
                findings.Add(new(TemplateFinding.Error, locale, part, null, null,
                    "The sender's postal address is missing: include {{ include \"footer\" }} (or the layout), or write {{ sender.postal_address }}."));
        if (message.Subject.Length == 0)
            findings.Add(new(TemplateFinding.Error, locale, "subject", null, null, "The subject renders empty for the sample customer."));
        else if (message.Subject.Length > SubjectWarningLength)
            findings.Add(new(TemplateFinding.Warning, locale, "subject", null, null,
                $"The subject is {message.Subject.Length} characters long for the sample customer; mail clients cut subjects after about {SubjectWarningLength}."));
    }
}
