using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using HandlebarsDotNet;

namespace RetentionCampaigns.Templates;

/// <summary>One template's text for one language. A null <see cref="Text"/> is generated from the HTML.</summary>
public sealed record TemplateContent(string Subject, string Html, string? Text);

/// <summary>A rendered message body: what the MIME writer needs from a template.</summary>
public sealed record RenderedMessage(string Subject, string Html, string Text);

/// <summary>Rendering stopped at a limit, or failed: the message says which, in words a marketer can act on.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class RenderLimits
{
    /// <summary>Characters of one part's output (HTML, text or subject).</summary>
    public int MaxOutputChars { get; init; } = 512 * 1024;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Compiles and renders templates with Handlebars.Net: one environment per language and output kind (HTML
/// escapes, subject and text do not), our helpers and the layout partials from <c>templates/</c>. Compiled
/// templates are cached by their source. Rendering writes through a counting writer that stops a runaway
/// template at a size or time limit.
/// </summary>
public sealed class TemplateEngine
{
    const int MaxCachedSources = 2_000;

    readonly Dictionary<(string Locale, bool Html), IHandlebars> environments = [];
    readonly Dictionary<(string Locale, bool Html), IReadOnlyDictionary<string, string>> partials = [];
    readonly ConcurrentDictionary<(string Locale, bool Html, string Source), HandlebarsTemplate<TextWriter, object, object>> compiled = new();
    // A campaign renders one content object for thousands of customers: finding its compilation by reference
    // skips hashing kilobytes of template source per message.
    readonly ConditionalWeakTable<TemplateContent, CompiledContent> byContent = new();

    sealed record CompiledContent(string Locale, HandlebarsTemplate<TextWriter, object, object> Subject,
        HandlebarsTemplate<TextWriter, object, object> Html, HandlebarsTemplate<TextWriter, object, object>? Text);
    readonly RenderLimits limits;

    readonly bool inlinePartials;

    /// <param name="inlinePartials">False compiles partial calls as Handlebars.Net does; tests compare both ways.</param>
    public TemplateEngine(RenderLimits? limits = null, bool inlinePartials = true)
    {
        this.limits = limits ?? new RenderLimits();
        this.inlinePartials = inlinePartials;
        foreach (var locale in LocaleFormat.Supported)
            foreach (var html in new[] { true, false })
            {
                environments[(locale, html)] = CreateEnvironment(locale, html);
                partials[(locale, html)] = DefaultTemplateFiles.Partials(locale, html).ToDictionary(p => p.Name, p => p.Source);
            }
        Partials = DefaultTemplateFiles.PartialNames;
    }

    /// <summary>The partials templates may include (<c>{{> footer}}</c>, <c>{{#> layout}}</c>).</summary>
    public IReadOnlySet<string> Partials { get; }

    static IHandlebars CreateEnvironment(string locale, bool html)
    {
        var handlebars = Handlebars.Create(new HandlebarsConfiguration { NoEscape = !html });
        var format = LocaleFormat.For(locale);
        handlebars.RegisterHelper("money", (EncodedTextWriter output, Context _, Arguments arguments) =>
        {
            switch (arguments[0])
            {
                case Money money: output.Write(format.Money(money)); break;
                case null: break;
                case var other: output.Write(other.ToString()!); break;
            }
        });
        handlebars.RegisterHelper("date", (EncodedTextWriter output, Context _, Arguments arguments) =>
        {
            var isShort = arguments.Length > 1 && arguments[1] as string == "short";
            if (arguments[0] is DateTime value) output.Write(format.Date(value, isShort));
            else if (arguments[0] is { } other) output.Write(other.ToString()!);
        });
        handlebars.RegisterHelper("plural", (EncodedTextWriter output, Context _, Arguments arguments) =>
        {
            var count = arguments[0] switch { int i => i, long l => l, decimal d => d, double f => (decimal)f, _ => 0m };
            output.Write(format.Plural(count, arguments[1]?.ToString() ?? "", arguments[2]?.ToString() ?? ""));
        });
        handlebars.RegisterHelper("default", (EncodedTextWriter output, Context _, Arguments arguments) =>
        {
            var value = arguments[0];
            output.Write(value is null || (value is string s && string.IsNullOrWhiteSpace(s)) ? arguments[1]?.ToString() ?? "" : value.ToString()!);
        });
        handlebars.RegisterHelper("link", (EncodedTextWriter output, Context _, Arguments arguments) =>
        {
            var target = arguments[0]?.ToString() ?? "";
            output.Write(RenderScope.Current?.TrackLink(target) ?? target);
        });
        handlebars.RegisterHelper("referral_url", (EncodedTextWriter output, Context _, Arguments _) =>
            output.Write(RenderScope.Current?.ReferralUrl ?? ""));
        foreach (var (name, source) in DefaultTemplateFiles.Partials(locale, html))
            handlebars.RegisterTemplate(name, source);
        return handlebars;
    }

    /// <summary>
    /// Compiles or returns the cached compilation; Handlebars.Net's own syntax errors surface here. Public for the
    /// render benchmark, whose floor is this bare compiled call.
    /// </summary>
    public HandlebarsTemplate<TextWriter, object, object> Compile(string locale, bool html, string source)
    {
        if (compiled.TryGetValue((locale, html, source), out var template)) return template;
        // Edits and previews of unsaved text add sources; a bound keeps that from growing without end.
        if (compiled.Count >= MaxCachedSources) compiled.Clear();
        var expanded = inlinePartials ? PartialInliner.Expand(source, partials[(locale, html)], html) : source;
        return compiled[(locale, html, source)] = environments[(locale, html)].Compile(new StringReader(expanded));
    }

    CompiledContent CompileContent(TemplateContent content, string locale)
    {
        if (byContent.TryGetValue(content, out var found) && found.Locale == locale) return found;
        var result = new CompiledContent(locale, Compile(locale, false, content.Subject), Compile(locale, true, content.Html),
            content.Text is null ? null : Compile(locale, false, content.Text));
        byContent.AddOrUpdate(content, result);
        return result;
    }

    /// <summary>Checks that Handlebars.Net compiles the source; returns its message when it does not.</summary>
    public string? CompileError(string locale, bool html, string source)
    {
        try
        {
            Compile(locale, html, source);
            return null;
        }
        catch (HandlebarsException exception)
        {
            return exception.Message.Split('\n')[0].Trim();
        }
    }

    /// <summary>Renders subject, HTML and text; the text is generated from the HTML when the template has none.</summary>
    public RenderedMessage Render(TemplateContent content, TemplateModel model, Func<string, string>? trackLink = null)
    {
        var locale = LocaleFormat.IsSupported(model.Customer.Locale) ? model.Customer.Locale : "de";
        var previous = RenderScope.Current;
        RenderScope.Current = new RenderScope(trackLink, model.Links.Referral);
        try
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limits.MaxDuration.TotalSeconds * Stopwatch.Frequency);
            var compiledContent = CompileContent(content, locale);
            var subject = RenderPart(compiledContent.Subject, model, deadline, "subject");
            var html = RenderPart(compiledContent.Html, model, deadline, "HTML");
            var text = compiledContent.Text is null ? HtmlToText.Convert(html) : TidyText(RenderPart(compiledContent.Text, model, deadline, "text"));
            // A subject is one header line: line breaks from data or template would end it early.
            return new RenderedMessage(CollapseWhitespace(subject), html, text);
        }
        finally
        {
            RenderScope.Current = previous;
        }
    }

    string RenderPart(HandlebarsTemplate<TextWriter, object, object> template, TemplateModel model, long deadline, string part)
    {
        var writer = new LimitedWriter(limits.MaxOutputChars, deadline);
        try
        {
            template(writer, model);
        }
        catch (RenderLimitException limit)
        {
            throw new TemplateRenderException(limit.Exceeded == "size"
                ? $"The {part} part grew beyond {limits.MaxOutputChars:N0} characters; rendering was stopped."
                : $"Rendering the {part} part took longer than {limits.MaxDuration.TotalMilliseconds:N0} ms; it was stopped.");
        }
        catch (HandlebarsException exception)
        {
            throw new TemplateRenderException($"The {part} part could not be rendered: {exception.Message.Split('\n')[0].Trim()}", exception);
        }
        return writer.ToString();
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

    sealed class RenderLimitException(string exceeded) : Exception(exceeded)
    {
        public string Exceeded { get; } = exceeded;
    }

    /// <summary>
    /// Collects output, and stops rendering past a size or a deadline. Handlebars.Net writes escaped values a
    /// character at a time, so the limits are checked every few thousand characters, not on every write.
    /// </summary>
    sealed class LimitedWriter(int maxChars, long deadline) : TextWriter
    {
        const int CheckEvery = 4096;
        readonly StringBuilder builder = new(8192);
        int nextCheck = Math.Min(CheckEvery, maxChars);

        public override Encoding Encoding => Encoding.UTF8;

        void Check()
        {
            if (builder.Length > maxChars) throw new RenderLimitException("size");
            if (Stopwatch.GetTimestamp() > deadline) throw new RenderLimitException("time");
            nextCheck = Math.Min(builder.Length + CheckEvery, maxChars);
        }

        public override void Write(char value)
        {
            builder.Append(value);
            if (builder.Length > nextCheck) Check();
        }

        public override void Write(string? value)
        {
            builder.Append(value);
            if (builder.Length > nextCheck) Check();
        }

        public override void Write(char[] buffer, int index, int count)
        {
            builder.Append(buffer, index, count);
            if (builder.Length > nextCheck) Check();
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            builder.Append(buffer);
            if (builder.Length > nextCheck) Check();
        }

        public override string ToString() => builder.ToString();
    }
}

/// <summary>
/// What helpers need beyond their arguments while one message renders. Rendering is synchronous on one thread,
/// so a thread-static is enough and costs nothing per call.
/// </summary>
sealed class RenderScope(Func<string, string>? trackLink, string referralUrl)
{
    public string ReferralUrl => referralUrl;

    [ThreadStatic] static RenderScope? current;

    public static RenderScope? Current { get => current; set => current = value; }

    public string TrackLink(string target) => trackLink is null ? target : trackLink(target);
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

    /// <summary>Partials live in <c>templates/{locale}/partials/NAME.html.hbs</c> and <c>NAME.text.hbs</c>.</summary>
    public static IEnumerable<(string Name, string Source)> Partials(string locale, bool html)
    {
        var prefix = $"{locale}/partials/";
        var suffix = html ? ".html.hbs" : ".text.hbs";
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
