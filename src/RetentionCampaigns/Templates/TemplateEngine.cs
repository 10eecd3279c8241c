using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
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
    readonly Dictionary<(string Locale, bool Html), IHandlebars> environments = [];
    readonly ConcurrentDictionary<(string Locale, bool Html, string Source), HandlebarsTemplate<TextWriter, object, object>> compiled = new();
    readonly RenderLimits limits;

    public TemplateEngine(RenderLimits? limits = null)
    {
        this.limits = limits ?? new RenderLimits();
        foreach (var locale in LocaleFormat.Supported)
            foreach (var html in new[] { true, false })
                environments[(locale, html)] = CreateEnvironment(locale, html);
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
        foreach (var (name, source) in DefaultTemplateFiles.Partials(locale, html))
            handlebars.RegisterTemplate(name, source);
        return handlebars;
    }

    /// <summary>Compiles or returns the cached compilation; Handlebars.Net's own syntax errors surface here.</summary>
    HandlebarsTemplate<TextWriter, object, object> Compile(string locale, bool html, string source) =>
        compiled.GetOrAdd((locale, html, source), key => environments[(key.Locale, key.Html)].Compile(new StringReader(key.Source)));

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
        RenderScope.Current = new RenderScope(trackLink);
        try
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(limits.MaxDuration.TotalSeconds * Stopwatch.Frequency);
            var subject = RenderPart(locale, false, content.Subject, model, deadline, "subject");
            var html = RenderPart(locale, true, content.Html, model, deadline, "HTML");
            var text = content.Text is null ? HtmlToText.Convert(html) : RenderPart(locale, false, content.Text, model, deadline, "text");
            // A subject is one header line: line breaks from data or template would end it early.
            return new RenderedMessage(CollapseWhitespace(subject), html, text);
        }
        finally
        {
            RenderScope.Current = previous;
        }
    }

    string RenderPart(string locale, bool html, string source, TemplateModel model, long deadline, string part)
    {
        var template = Compile(locale, html, source);
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

    /// <summary>Collects output, and stops rendering past a size or a deadline.</summary>
    sealed class LimitedWriter(int maxChars, long deadline) : TextWriter
    {
        readonly StringBuilder builder = new(4096);
        int writes;

        public override Encoding Encoding => Encoding.UTF8;

        void Check(int adding)
        {
            if (builder.Length + adding > maxChars) throw new RenderLimitException("size");
            // The clock is read every 64 writes: cheap, and every loop iteration writes.
            if ((++writes & 63) == 0 && Stopwatch.GetTimestamp() > deadline) throw new RenderLimitException("time");
        }

        public override void Write(char value) { Check(1); builder.Append(value); }
        public override void Write(string? value) { if (value is null) return; Check(value.Length); builder.Append(value); }
        public override void Write(char[] buffer, int index, int count) { Check(count); builder.Append(buffer, index, count); }
        public override void Write(ReadOnlySpan<char> buffer) { Check(buffer.Length); builder.Append(buffer); }
        public override string ToString() => builder.ToString();
    }
}

/// <summary>
/// What helpers need beyond their arguments while one message renders. Rendering is synchronous on one thread,
/// so a thread-static is enough and costs nothing per call.
/// </summary>
sealed class RenderScope(Func<string, string>? trackLink)
{
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
