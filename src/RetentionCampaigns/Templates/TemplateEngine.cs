using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Scriban;
using Scriban.Parsing;
using Scriban.Syntax;

namespace RetentionCampaigns.Templates;

/// <summary>One template's text for one language. A null <see cref="Text"/> is generated from the HTML.</summary>
public sealed record TemplateContent(string Subject, string Html, string? Text);

/// <summary>A rendered message body: what the MIME writer needs from a template.</summary>
public sealed record RenderedMessage(string Subject, string Html, string Text);

/// <summary>Rendering stopped at a limit, or failed: the message says which, in words a marketer can act on.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class RenderLimits
{
    /// <summary>Characters of one part's output (HTML, text or subject), and of any one string a template builds.</summary>
    public int MaxOutputChars { get; init; } = 512 * 1024;
    /// <summary>One message, all parts together.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Loop iterations of one part, nested loops counted together.</summary>
    public int MaxLoopIterations { get; init; } = 1_000;
    /// <summary>Nested calls of functions a template defines.</summary>
    public int MaxRecursion { get; init; } = 20;
    /// <summary>One regular expression of <c>regex.*</c>.</summary>
    public TimeSpan MaxRegexDuration { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// Parses and renders templates with Scriban. A source is parsed once (our partials and the layout inlined into
/// it first) and the parsed template is shared by every thread; each thread reuses its own <see cref="MessageContext"/>,
/// which escapes every <c>{{ value }}</c> of an HTML part, enforces the limits and carries the per-message functions.
/// </summary>
public sealed class TemplateEngine
{
    const int MaxCachedSources = 2_000;

    readonly ConcurrentDictionary<(string Locale, bool Html, string Source), Template> parsed = new();
    // A campaign renders one content object for thousands of customers: finding its parse by reference skips
    // hashing kilobytes of template source per message.
    readonly ConditionalWeakTable<TemplateContent, ParsedContent> byContent = new();
    readonly Dictionary<(string Locale, bool Html), IReadOnlyDictionary<string, string>> partials = [];
    readonly TemplateSandbox sandbox;
    readonly ThreadLocal<MessageContext> contexts;

    sealed record ParsedContent(string Locale, Template Subject, Template Html, Template? Text);

    public TemplateEngine(RenderLimits? limits = null)
    {
        Limits = limits ?? new RenderLimits();
        foreach (var locale in LocaleFormat.Supported)
            foreach (var html in new[] { true, false })
                partials[(locale, html)] = DefaultTemplateFiles.Partials(locale, html).ToDictionary(p => p.Name, p => p.Source);
        Partials = DefaultTemplateFiles.PartialNames;
        sandbox = new TemplateSandbox();
        contexts = new ThreadLocal<MessageContext>(() => new MessageContext(sandbox, Limits));
    }

    public RenderLimits Limits { get; }

    /// <summary>The partials templates may include (<c>{{ include "footer" }}</c>, <c>{{ wrap layout }}</c>).</summary>
    public IReadOnlySet<string> Partials { get; }

    /// <summary>The built-in objects and our functions, as the checker needs to know them.</summary>
    public TemplateSandbox Sandbox => sandbox;

    /// <summary>
    /// Parses (our partials inlined) or returns the cached parse. Public for the render benchmark, whose floor is a
    /// bare <c>Template.Render</c> of the same text. Throws <see cref="TemplateRenderException"/> on a syntax error.
    /// </summary>
    public Template Parse(string locale, bool html, string source)
    {
        if (parsed.TryGetValue((locale, html, source), out var template)) return template;
        // Edits and previews of unsaved text add sources; a bound keeps that from growing without end.
        if (parsed.Count >= MaxCachedSources) parsed.Clear();
        var expanded = PartialInliner.Expand(source, partials[(locale, html)]);
        template = Template.Parse(expanded);
        if (template.HasErrors)
            throw new TemplateRenderException($"The template could not be read: {template.Messages.First(m => m.Type == ParserMessageType.Error).Message}");
        return parsed[(locale, html, source)] = template;
    }

    /// <summary>The text with our partials and layout written out, as <see cref="Parse"/> parses it.</summary>
    public string Expand(string locale, bool html, string source) => PartialInliner.Expand(source, partials[(locale, html)]);

    ParsedContent ParseContent(TemplateContent content, string locale)
    {
        if (byContent.TryGetValue(content, out var found) && found.Locale == locale) return found;
        var result = new ParsedContent(locale, Parse(locale, false, content.Subject), Parse(locale, true, content.Html),
            content.Text is null ? null : Parse(locale, false, content.Text));
        byContent.AddOrUpdate(content, result);
        return result;
    }

    /// <summary>Renders subject, HTML and text; the text is generated from the HTML when the template has none.</summary>
    public RenderedMessage Render(TemplateContent content, TemplateModel model, Func<string, string>? trackLink = null)
    {
        var locale = LocaleFormat.IsSupported(model.Customer.Locale) ? model.Customer.Locale : "de";
        var parsedContent = ParseContent(content, locale);
        var context = contexts.Value!;
        context.Begin(model, LocaleFormat.For(locale), trackLink);
        var subject = context.RenderPart(parsedContent.Subject, html: false, "subject");
        var html = context.RenderPart(parsedContent.Html, html: true, "HTML");
        var text = parsedContent.Text is null ? HtmlToText.Convert(html) : TidyText(context.RenderPart(parsedContent.Text, html: false, "text"));
        // A subject is one header line: line breaks from data or template would end it early.
        return new RenderedMessage(CollapseWhitespace(subject), html, text);
    }

    /// <summary>Blocks that rendered empty leave blank lines behind: at most one blank line in a row, none at the start.</summary>
    static string TidyText(string text)
    {
        var builder = new StringBuilder(text.Length);
        var newlines = 0;
        foreach (var c in text.AsSpan().TrimStart())
        {
            if (c == '\n')
            {
                if (++newlines > 2) continue;
                // Trailing spaces on a line are invisible and make blank lines look non-blank.
                while (builder.Length > 0 && builder[^1] is ' ' or '\t') builder.Length--;
            }
            else if (c != '\r') newlines = 0;
            builder.Append(c);
        }
        return builder.ToString();
    }

    static string CollapseWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.Trim())
        {
            if (char.IsWhiteSpace(c)) { space = true; continue; }
            if (space) builder.Append(' ');
            space = false;
            builder.Append(c);
        }
        return builder.ToString();
    }
}

/// <summary>HTML that is safe as it is (made by <c>html.escape</c>): an HTML part writes it without escaping it again.</summary>
public sealed record SafeHtml(string Value)
{
    public override string ToString() => Value;
}

/// <summary>The default templates and layout partials under <c>templates/</c>, embedded in the assembly.</summary>
public static class DefaultTemplateFiles
{
    static readonly Assembly Assembly = typeof(DefaultTemplateFiles).Assembly;
    const string Prefix = "templates/";

    static readonly Dictionary<string, string> Files = Assembly.GetManifestResourceNames()
        .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
        .ToDictionary(name => name[Prefix.Length..].Replace('\\', '/'), Read, StringComparer.Ordinal);

    static string Read(string resource)
    {
        using var stream = Assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd().Replace("\r\n", "\n");
    }

    /// <summary>Partials live in <c>templates/{locale}/partials/NAME.html.sbn</c> and <c>NAME.text.sbn</c>.</summary>
    public static IEnumerable<(string Name, string Source)> Partials(string locale, bool html)
    {
        var prefix = $"{locale}/partials/";
        var suffix = html ? ".html.sbn" : ".text.sbn";
        return Files.Where(file => file.Key.StartsWith(prefix, StringComparison.Ordinal) && file.Key.EndsWith(suffix, StringComparison.Ordinal))
            .Select(file => (file.Key[prefix.Length..^suffix.Length], file.Value));
    }

    public static readonly IReadOnlySet<string> PartialNames = Files.Keys
        .Where(key => key.Contains("/partials/", StringComparison.Ordinal))
        .Select(key => key[(key.LastIndexOf('/') + 1)..key.IndexOf('.')])
        .ToHashSet();

    /// <summary>The file at <c>templates/PATH</c>, or null.</summary>
    public static string? File(string path) => Files.GetValueOrDefault(path);
}
