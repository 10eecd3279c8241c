using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Scriban;
using Scriban.Functions;
using Scriban.Parsing;
using Scriban.Runtime;
using Scriban.Syntax;

namespace RetentionCampaigns.Templates;

/// <summary>
/// What a template may call: Scriban's built-in objects without the ones that run text as template code
/// (<c>object.eval</c>, <c>object.eval_template</c>), load other templates (<c>include</c>: our partials are inlined
/// before parsing) or read the clock (<c>date</c>, <c>timespan</c>: a message must render the same in a preview and
/// in the campaign), plus our functions. Everything here is shared by all threads, so all of it is read-only: a
/// template cannot plant a value (<c>{{ string.x = customer.email }}</c>) that the next message would see.
/// </summary>
public sealed class TemplateSandbox
{
    static readonly string[] Removed = ["include", "include_join", "date", "timespan"];
    static readonly string[] RemovedObjectFunctions = ["eval", "eval_template"];

    public TemplateSandbox()
    {
        Builtins = TemplateContext.GetDefaultBuiltinObject();
        foreach (var name in Removed) Builtins.Remove(name);
        var objectFunctions = (ScriptObject)Builtins["object"]!;
        foreach (var name in RemovedObjectFunctions) objectFunctions.Remove(name);
        // html.escape's result is already HTML: marked safe, an HTML part does not escape it a second time.
        var html = (ScriptObject)Builtins["html"]!;
        html.Remove("escape");
        html.Import("escape", new Func<TemplateContext, object?, SafeHtml>((context, value) => new SafeHtml(HtmlEscape.Escape(context.ObjectToString(value) ?? ""))));
        // Scriban's newline_to_br leaves the text unescaped; ours escapes it, so its <br /> can pass as HTML.
        html.Remove("newline_to_br");
        html.Import("newline_to_br", new Func<TemplateContext, object?, SafeHtml>((context, value) =>
            new SafeHtml(HtmlEscape.Escape(context.ObjectToString(value) ?? "").ReplaceLineEndings("<br />\n"))));
        foreach (var function in Functions) Builtins.Import(function.Name, function.Implementation);
        foreach (var value in Builtins.Values.OfType<ScriptObject>()) value.IsReadOnly = true;
        Builtins.IsReadOnly = true;
    }

    public ScriptObject Builtins { get; }

    /// <summary>The built-in objects (<c>string</c>, <c>math</c>, ...) with their function names.</summary>
    public IEnumerable<(string Name, IReadOnlyCollection<string> Members)> Objects =>
        Builtins.Where(entry => entry.Value is ScriptObject).Select(entry => (entry.Key, (IReadOnlyCollection<string>)((ScriptObject)entry.Value!).Keys.ToList()));

    public bool IsBuiltinObject(string name) => Builtins.TryGetValue(name, out var value) && value is ScriptObject;

    public bool HasMember(string objectName, string member) =>
        Builtins.TryGetValue(objectName, out var value) && value is ScriptObject functions && functions.ContainsKey(member);

    /// <summary>Our functions, with what the vocabulary tells a marketer about them.</summary>
    public static readonly IReadOnlyList<TemplateFunction> Functions =
    [
        new("money", 1, 1, "an amount of money, e.g. offer.value", "the amount in the customer's language: 12,50 € or €12.50", "{{ money offer.value }}",
            new Func<TemplateContext, object?, string>((context, value) => value switch
            {
                Money money => Format(context).Money(money),
                null => "",
                IFormattable other => other.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            })),
        new("format_date", 1, 2, "a date, then optionally \"short\" or \"long\" (the default)",
            "the date in the customer's language: 31. Dezember 2026 or 31 December 2026; short: 31.12.2026 or 31/12/2026",
            "{{ format_date offer.expires_at \"short\" }}",
            new Func<TemplateContext, object?, string?, string>(FormatDate)),
        new("plural", 3, 3, "a number, the word for one, the word for several",
            "the number followed by the fitting word, e.g. 3 Bestellungen (the number is printed too)",
            "{{ plural metrics.order_count \"Bestellung\" \"Bestellungen\" }}",
            new Func<TemplateContext, object?, string?, string?, string>((context, count, one, several) =>
                Format(context).Plural(count switch { int i => i, long l => l, decimal d => d, double f => (decimal)f, _ => 0m }, one ?? "", several ?? ""))),
        new("default", 2, 2, "a value, then the text to print when it is empty", "the value, or the text when the value is empty or missing",
            "{{ default customer.first_name \"there\" }}",
            new Func<TemplateContext, object?, object?, object?>((_, value, fallback) =>
                value is null || value is string text && string.IsNullOrWhiteSpace(text) ? fallback : value)),
        new("discount", 1, 1, "an offer (offer)", "what the offer takes off: 12,50 € or 15 %; empty without an offer",
            "{{ discount offer }}",
            new Func<TemplateContext, object?, string>((context, value) => value switch
            {
                OfferView { Value: { } money } => Format(context).Money(money),
                OfferView { PercentOff: { } percent } => $"{percent} %",
                _ => "",
            })),
        new("link", 1, 1, "an absolute http:// or https:// address in quotes, or a link of the model such as links.shop",
            "the address, through our click tracking (/c/...) when the customer allows tracking", "{{ link \"https://shop.example/sale\" }}",
            new Func<TemplateContext, object?, string>((context, target) => context is MessageContext message ? message.TrackLink(target?.ToString() ?? "") : target?.ToString() ?? "")),
        new("referral_url", 0, 0, "nothing", "the customer's referral link (made on first use); empty when they left the referral program",
            "{{ referral_url }}",
            new Func<TemplateContext, string>(context => (context as MessageContext)?.ReferralUrl ?? "")),
    ];

    // After Functions: static fields initialise in order.
    public static readonly IReadOnlyDictionary<string, TemplateFunction> FunctionsByName = Functions.ToDictionary(f => f.Name);

    /// <summary>Every name the sandbox gives a template (built-in objects and values, our functions), without an instance.</summary>
    public static readonly IReadOnlySet<string> Names =
        TemplateContext.GetDefaultBuiltinObject().Keys.Except(Removed).Concat(Functions.Select(f => f.Name)).ToHashSet(StringComparer.Ordinal);

    // A method, not a lambda: Scriban reads the optional style's default from its parameters.
    static string FormatDate(TemplateContext context, object? value, string? style = null) => value switch
    {
        DateTime date => Format(context).Date(date, style == "short"),
        null => "",
        _ => value.ToString() ?? "",
    };

    // Outside our MessageContext (the render benchmark's bare floor) the functions format in German.
    static LocaleFormat Format(TemplateContext context) => (context as MessageContext)?.Format ?? LocaleFormat.German;
}

/// <summary>One of our template functions: its arity for the checker and its words for the vocabulary.</summary>
public sealed record TemplateFunction(string Name, int MinArguments, int MaxArguments, string Arguments, string Output, string Example, Delegate Implementation);

/// <summary>
/// A Scriban context for one thread, reused message after message: the model as read-only globals, a template's own
/// variables cleared after each part, HTML escaping of every <c>{{ value }}</c> in an HTML part, and the limits.
/// </summary>
sealed class MessageContext : TemplateContext
{
    static readonly string[] ModelNames = ["customer", "metrics", "offer", "links", "campaign", "sender", "reason"];

    readonly ScriptObject model = new();
    readonly RenderLimits limits;
    readonly long maxTicks;
    long deadline;
    bool html;
    Func<string, string>? trackLink;

    public MessageContext(TemplateSandbox sandbox, RenderLimits limits) : base(sandbox.Builtins)
    {
        this.limits = limits;
        maxTicks = (long)(limits.MaxDuration.TotalSeconds * Stopwatch.Frequency);
        LoopLimit = limits.MaxLoopIterations;
        RecursiveLimit = limits.MaxRecursion;
        LimitToString = limits.MaxOutputChars;
        OnStringLimit = ScriptLimitBehavior.Throw;
        OutputLimit = limits.MaxOutputChars;
        OnOutputLimit = ScriptLimitBehavior.Throw;
        RegexTimeOut = limits.MaxRegexDuration;
        ObjectRecursionLimit = 10;
        // Only our model's own properties: nothing of DateTime, strings or collections beyond what Scriban's
        // built-in functions offer, and no member a .NET type adds (EqualityContract, methods).
        MemberFilter = member => member.MemberType == System.Reflection.MemberTypes.Property
                                 && (member.DeclaringType?.Namespace == typeof(TemplateModel).Namespace || IsAttributeEntry(member.DeclaringType));
        TemplateLoader = null;
        PushGlobal(model);
    }

    // {{ for a in customer.attributes }} gives key/value pairs: their Key and Value are the only other members.
    static bool IsAttributeEntry(Type? type) => type is { IsGenericType: true } && type.GetGenericTypeDefinition() == typeof(KeyValuePair<,>);

    public LocaleFormat Format { get; private set; } = LocaleFormat.German;
    public string ReferralUrl { get; private set; } = "";

    public string TrackLink(string target) => trackLink is null ? target : trackLink(target);

    public void Begin(TemplateModel message, LocaleFormat format, Func<string, string>? tracker)
    {
        Format = format;
        trackLink = tracker;
        ReferralUrl = message.Links.Referral ?? "";
        deadline = Stopwatch.GetTimestamp() + maxTicks;
        model.SetValue(ModelNames[0], message.Customer, true);
        model.SetValue(ModelNames[1], message.Metrics, true);
        model.SetValue(ModelNames[2], message.Offer, true);
        model.SetValue(ModelNames[3], message.Links, true);
        model.SetValue(ModelNames[4], message.Campaign, true);
        model.SetValue(ModelNames[5], message.Sender, true);
        model.SetValue(ModelNames[6], message.Reason, true);
    }

    public string RenderPart(Template template, bool html, string part)
    {
        this.html = html;
        try
        {
            return template.Render(this);
        }
        catch (Exception exception) when (Cause<RenderTimeLimitException>(exception) is not null)
        {
            throw new TemplateRenderException($"Rendering took longer than {limits.MaxDuration.TotalMilliseconds:N0} ms; it was stopped at the {part} part.");
        }
        catch (Exception exception) when (Cause<RegexMatchTimeoutException>(exception) is not null)
        {
            throw new TemplateRenderException($"A regular expression in the {part} part took longer than {limits.MaxRegexDuration.TotalMilliseconds:N0} ms; it was stopped.");
        }
        catch (ScriptRuntimeException exception)
        {
            throw new TemplateRenderException($"The {part} part could not be rendered (line {exception.Span.Start.Line + 1}): {Explain(exception.OriginalMessage)}", exception);
        }
        finally
        {
            // After an error Scriban may leave scopes pushed: back to the model alone. The template's own variables
            // (set beside the read-only model, which it cannot overwrite) go with the part: nothing it sets reaches
            // the next part or message.
            while (CurrentGlobal != model) PopGlobal();
            if (model.Count > ModelNames.Length)
                foreach (var name in model.Keys.Except(ModelNames).ToList()) model.Remove(name);
            if (Output is StringBuilderOutput output) output.Builder.Clear();
        }
    }

    /// <summary>Scriban wraps what a function throws; the cause decides what the marketer is told.</summary>
    static T? Cause<T>(Exception? exception) where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
            if (exception is T found) return found;
        return null;
    }

    string Explain(string message) => message switch
    {
        _ when message.Contains("iteration limit", StringComparison.OrdinalIgnoreCase) || message.Contains("LoopLimit", StringComparison.Ordinal) =>
            $"a loop ran more than {limits.MaxLoopIterations:N0} times (all loops of a part together); it was stopped.",
        _ when message.Contains("recursive", StringComparison.OrdinalIgnoreCase) =>
            $"functions called each other more than {limits.MaxRecursion:N0} levels deep; it was stopped.",
        _ when message.Contains("LimitToString", StringComparison.Ordinal) || message.Contains("OutputLimit", StringComparison.Ordinal) || message.Contains("output limit", StringComparison.OrdinalIgnoreCase) =>
            $"the text grew beyond {limits.MaxOutputChars:N0} characters; it was stopped.",
        _ => message,
    };

    void CheckDeadline()
    {
        if (Stopwatch.GetTimestamp() > deadline) throw new RenderTimeLimitException();
    }

    protected override bool OnStepLoop(ScriptLoopStatementBase loop)
    {
        CheckDeadline();
        return base.OnStepLoop(loop);
    }

    public override TemplateContext Write(SourceSpan span, object? textAsObject)
    {
        CheckDeadline();
        if (!html || textAsObject is null or SafeHtml) return base.Write(span, textAsObject!);
        var text = textAsObject as string ?? ObjectToString(textAsObject) ?? "";
        HtmlEscape.Write(this, text);
        return this;
    }

    sealed class RenderTimeLimitException : Exception;
}

/// <summary>Escapes the five characters that matter in HTML text and quoted attributes; leaves umlauts alone.</summary>
static class HtmlEscape
{
    static readonly System.Buffers.SearchValues<char> Special = System.Buffers.SearchValues.Create("&<>\"'");

    static string? Entity(char c) => c switch
    {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => null,
    };

    public static void Write(TemplateContext context, string text)
    {
        var start = 0;
        while (true)
        {
            var next = text.AsSpan(start).IndexOfAny(Special);
            if (next < 0)
            {
                if (start < text.Length) context.Write(text, start, text.Length - start);
                return;
            }
            if (next > 0) context.Write(text, start, next);
            context.Write(Entity(text[start + next])!);
            start += next + 1;
        }
    }

    public static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny(Special) < 0) return text;
        var builder = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (Entity(c) is { } entity) builder.Append(entity);
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
