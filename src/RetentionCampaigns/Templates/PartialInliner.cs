using System.Text;
using Scriban;
using Scriban.Syntax;

namespace RetentionCampaigns.Templates;

/// <summary>
/// Writes our partials into a template's text before it is parsed for rendering: <c>{{ include "footer" }}</c>
/// becomes the footer's text, <c>{{ include "button" href: links.shop label: "Los" }}</c> the button's with its
/// parameters put in, and <c>{{ wrap layout preheader: "..." }} body {{ end }}</c> the layout around the body (where
/// the layout says <c>{{ $$ }}</c>). Inlined, a message is one parsed template: Scriban's <c>include</c> would load,
/// look up and scope a partial on every render (measured: about a third of the render time), and it would need a
/// template loader, which we do not give templates at all. Only our own partials are inlined; anything else is left
/// for the parser and the checker to report.
/// </summary>
public static class PartialInliner
{
    const int MaxDepth = 5;
    public const string LayoutName = "layout", BodyMarker = "{{ $$ }}";

    public static string Expand(string source, IReadOnlyDictionary<string, string> partials, int depth = 0)
    {
        if (depth > MaxDepth || !(source.Contains("include", StringComparison.Ordinal) || source.Contains("wrap", StringComparison.Ordinal))) return source;
        var template = Template.Parse(source);
        if (template.HasErrors) return source;
        var replacements = new List<(int Start, int End, string Text)>();
        foreach (var node in Descendants(template.Page!))
        {
            if (PartialCall.Of(node) is { } call && partials.TryGetValue(call.Name, out var partial) && call.Name != LayoutName)
                replacements.Add((call.Node.Span.Start.Offset, call.Node.Span.End.Offset + 1,
                    "}}" + Expand(Substitute(partial, call.Parameters(source)), partials, depth + 1) + "{{"));
            else if (node is ScriptWrapStatement wrap && PartialCall.OfWrap(wrap) is { Name: LayoutName } layoutCall
                     && partials.TryGetValue(LayoutName, out var layout) && WrapRegion(source, wrap, layoutCall) is { } region)
            {
                var body = Expand(source[region.BodyStart..region.BodyEnd], partials, depth + 1);
                var wrapped = Expand(Substitute(layout, layoutCall.Parameters(source)), partials, depth + 1)
                    .Replace(BodyMarker, body, StringComparison.Ordinal);
                replacements.Add((region.Start, region.End, wrapped));
            }
        }
        if (replacements.Count == 0) return source;
        var builder = new StringBuilder(source.Length * 2);
        var position = 0;
        foreach (var (start, end, text) in replacements.OrderBy(r => r.Start))
        {
            if (start < position) continue; // inside a layout body, already expanded with it
            builder.Append(source, position, start - position).Append(text);
            position = end;
        }
        return builder.Append(source, position, source.Length - position).ToString();
    }

    /// <summary>
    /// From the <c>{{</c> that opens <c>wrap layout</c> to the <c>}}</c> that closes its <c>end</c>, and the body between;
    /// null when the wrap shares its <c>{{ }}</c> with other statements (then it is not ours to rewrite).
    /// </summary>
    static (int Start, int End, int BodyStart, int BodyEnd)? WrapRegion(string source, ScriptWrapStatement wrap, PartialCall call)
    {
        var end = wrap.Body?.Statements.LastOrDefault() as ScriptEndStatement;
        if (end is null) return null;
        var open = source.LastIndexOf("{{", wrap.Span.Start.Offset, StringComparison.Ordinal);
        var bodyStart = source.IndexOf("}}", call.Node.Span.End.Offset + 1, StringComparison.Ordinal);
        var bodyEnd = source.LastIndexOf("{{", end.Span.Start.Offset, StringComparison.Ordinal);
        var close = source.IndexOf("}}", end.Span.End.Offset + 1, StringComparison.Ordinal);
        if (open < 0 || bodyStart < 0 || bodyEnd < 0 || close < 0) return null;
        static bool OnlySpace(ReadOnlySpan<char> text) => text.Trim().Trim('~').Trim().Length == 0;
        if (!OnlySpace(source.AsSpan(open + 2, wrap.Span.Start.Offset - open - 2)) || !OnlySpace(source.AsSpan(call.Node.Span.End.Offset + 1, bodyStart - call.Node.Span.End.Offset - 1))
            || !OnlySpace(source.AsSpan(bodyEnd + 2, end.Span.Start.Offset - bodyEnd - 2)) || !OnlySpace(source.AsSpan(end.Span.End.Offset + 1, close - end.Span.End.Offset - 1)))
            return null;
        return (open, close + 2, bodyStart + 2, bodyEnd);
    }

    /// <summary>
    /// Puts the caller's parameter expressions where the partial uses them; a parameter not passed is null (empty and
    /// false). A partial's names that are the model's, or functions, stay as they are.
    /// </summary>
    static string Substitute(string partial, IReadOnlyDictionary<string, string> parameters)
    {
        var template = Template.Parse(partial);
        if (template.HasErrors) return partial;
        var members = Descendants(template.Page!).OfType<ScriptMemberExpression>().Select(m => m.Member).ToHashSet(ReferenceEqualityComparer.Instance);
        var uses = Descendants(template.Page!).OfType<ScriptVariableGlobal>()
            .Where(v => !members.Contains(v) && v.Name != "include" && TemplateSchema.Root.Child(v.Name) is null && !TemplateSandbox.Names.Contains(v.Name))
            .OrderBy(v => v.Span.Start.Offset).ToList();
        if (uses.Count == 0) return partial;
        var builder = new StringBuilder(partial.Length + 64);
        var position = 0;
        foreach (var use in uses)
        {
            if (use.Span.Start.Offset < position) continue;
            builder.Append(partial, position, use.Span.Start.Offset - position);
            builder.Append(parameters.TryGetValue(use.Name, out var value) ? $"({value})" : "null");
            position = use.Span.End.Offset + 1;
        }
        return builder.Append(partial, position, partial.Length - position).ToString();
    }

    public static IEnumerable<ScriptNode> Descendants(ScriptNode node)
    {
        yield return node;
        for (var i = 0; i < node.ChildrenCount; i++)
            if (node.GetChildren(i) is { } child)
                foreach (var descendant in Descendants(child))
                    yield return descendant;
    }

    /// <summary>A call of one of our partials: <c>include "name" key: value ...</c>, or the function of a <c>wrap</c>.</summary>
    public sealed record PartialCall(string Name, ScriptNode Node, IReadOnlyList<ScriptNamedArgument> Named, IReadOnlyList<ScriptExpression> Positional)
    {
        public static PartialCall? Of(ScriptNode node) =>
            node is ScriptFunctionCall { Target: ScriptVariableGlobal { Name: "include" } } call
            && call.Arguments.Count > 0 && call.Arguments[0] is ScriptLiteral { Value: string name }
                ? new PartialCall(name, call, call.Arguments.OfType<ScriptNamedArgument>().ToList(), call.Arguments.Skip(1).Where(a => a is not ScriptNamedArgument).ToList())
                : null;

        public static PartialCall? OfWrap(ScriptWrapStatement wrap) => wrap.Target switch
        {
            ScriptFunctionCall { Target: ScriptVariableGlobal target } call => new PartialCall(target.Name, call,
                call.Arguments.OfType<ScriptNamedArgument>().ToList(), call.Arguments.Where(a => a is not ScriptNamedArgument).ToList()),
            ScriptVariableGlobal target => new PartialCall(target.Name, target, [], []),
            _ => null,
        };

        public IReadOnlyDictionary<string, string> Parameters(string source) => Named
            .Where(n => n.Value is not null)
            .ToDictionary(n => n.Name!.Name, n => source[n.Value!.Span.Start.Offset..(n.Value.Span.End.Offset + 1)], StringComparer.Ordinal);
    }
}
