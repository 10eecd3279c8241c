using Scriban;
using Scriban.Parsing;
using Scriban.Syntax;

namespace RetentionCampaigns.Templates;

/// <summary>
/// Checks a template on Scriban's parse tree before anyone receives it: Scriban renders an unknown variable or
/// member as nothing, which would let a typo reach thousands of customers as an empty greeting. This knows the
/// template model, our functions and partials and the built-in objects of the sandbox, and reports every problem
/// with line and column in the text the marketer wrote (partials are not expanded here).
/// </summary>
public static class TemplateChecker
{
    /// <summary>Names a template may read without defining them: Scriban's loop objects and empty values.</summary>
    static readonly HashSet<string> LanguageNames = ["for", "while", "tablerow", "empty", "blank", "null", "true", "false"];

    public static List<(int Line, int Column, string Message)> Check(string source, IReadOnlySet<string> partials, TemplateSandbox sandbox)
    {
        var problems = new List<(int, int, string)>();
        var template = Template.Parse(source);
        if (template.HasErrors)
        {
            // Scriban reports an unclosed {{ or block where it noticed, often at the end of the text; a marketer
            // needs the place where it was opened.
            if (UnclosedExpression(source) is { } unclosed)
                return [(unclosed.Line, unclosed.Column, "This {{ is not closed with }}.")];
            foreach (var message in template.Messages.Where(m => m.Type == ParserMessageType.Error))
                problems.Add(message.Message.Contains("statement was not found", StringComparison.Ordinal) && UnclosedBlock(source) is { } block
                    ? (block.Line, block.Column, $"This {{{{ {block.Keyword} }}}} is never closed with {{{{ end }}}}.")
                    : (message.Span.Start.Line + 1, message.Span.Start.Column + 1, Reword(message.Message)));
            return problems.Distinct().ToList();
        }
        var nodes = PartialInliner.Descendants(template.Page!).ToList();
        var parents = Parents(nodes);
        var locals = Locals(nodes);
        var functions = TemplateSandbox.FunctionsByName;

        void Report(ScriptNode at, string message) => problems.Add((at.Span.Start.Line + 1, at.Span.Start.Column + 1, message));
        ScriptNode? Parent(ScriptNode node) => parents.GetValueOrDefault(node);

        foreach (var node in nodes)
        {
            switch (node)
            {
                case ScriptFunctionCall { Target: ScriptVariableGlobal { Name: "include" } } include:
                    if (PartialInliner.PartialCall.Of(include) is not { } call)
                        Report(include, "include takes the name of one of our partials in quotes, e.g. {{ include \"footer\" }}.");
                    else if (call.Name == PartialInliner.LayoutName)
                        Report(include, "The layout wraps the email: write {{ wrap layout }} ... {{ end }} around it.");
                    else if (!partials.Contains(call.Name))
                        Report(include, $"Unknown partial '{call.Name}'. Known partials: {string.Join(", ", partials.Where(p => p != PartialInliner.LayoutName).Order())}.");
                    else if (call.Positional.Count > 0)
                        Report(include, $"The partial '{call.Name}' takes only name: value parameters.");
                    break;
                case ScriptWrapStatement wrap:
                    if (PartialInliner.PartialCall.OfWrap(wrap) is not { Name: PartialInliner.LayoutName } layout)
                        Report(wrap, "Only the layout can wrap a part: {{ wrap layout }} ... {{ end }}.");
                    else if (layout.Positional.Count > 0)
                        Report(wrap, "The layout takes only name: value parameters, e.g. {{ wrap layout preheader: \"...\" }}.");
                    break;
                case ScriptFunctionCall { Target: ScriptVariableGlobal target } functionCall when functions.TryGetValue(target.Name, out var function):
                    var piped = Parent(functionCall) is ScriptPipeCall pipe && Same(pipe.To, functionCall);
                    CheckArguments(function, piped, functionCall.Arguments, node, Report);
                    break;
                case ScriptAssignExpression assign:
                    var assigned = Root(assign.Target);
                    if (assigned is ScriptVariableGlobal global && (TemplateSchema.Root.Child(global.Name) is not null || sandbox.Builtins.ContainsKey(global.Name)))
                        Report(assign, $"'{global.Name}' belongs to the email's data or the built-in functions and cannot be changed; use a new name.");
                    else if (assign.Target is ScriptMemberExpression or ScriptIndexerExpression)
                        Report(assign, "A template may set its own variables, not members of the email's data or of the built-in objects.");
                    break;
                case ScriptMemberExpression member when Parent(member) is not ScriptMemberExpression { Target: var outer } || !Same(outer, member):
                    CheckPath(member, locals, sandbox, Report);
                    break;
                // The layout's name in {{ wrap layout ... }} is checked with the wrap.
                case ScriptVariableGlobal { Name: PartialInliner.LayoutName } variable when Parent(variable) is ScriptWrapStatement
                                                                                     || Parent(variable) is ScriptFunctionCall layoutCall && Parent(layoutCall) is ScriptWrapStatement:
                    break;
                case ScriptVariableGlobal variable when Parent(variable) is not ScriptMemberExpression && !IsDeclaration(variable, Parent(variable)):
                    CheckName(variable, Parent(variable), locals, sandbox, functions, Report);
                    break;
            }
        }
        problems.Sort();
        return problems.Distinct().ToList();
    }

    /// <param name="piped">Called as <c>value | function ...</c>: the value is the first argument.</param>
    static void CheckArguments(TemplateFunction function, bool piped, IReadOnlyList<ScriptExpression> written, ScriptNode at, Action<ScriptNode, string> report)
    {
        if (written.Any(a => a is ScriptNamedArgument)) report(at, $"'{function.Name}' takes no named parameters.");
        // With a pipe the first argument is the value before it; null stands for it here.
        var arguments = piped ? [null, .. written] : written.ToList<ScriptExpression?>();
        var count = arguments.Count;
        if (count < function.MinArguments || count > function.MaxArguments)
        {
            report(at, function.MinArguments == function.MaxArguments
                ? $"'{function.Name}' takes {function.MinArguments} argument{(function.MinArguments == 1 ? "" : "s")}, not {count}: {function.Example}"
                : $"'{function.Name}' takes {function.MinArguments} to {function.MaxArguments} arguments, not {count}: {function.Example}");
            return;
        }
        if (function.Name == "link" && arguments[0] is ScriptLiteral literal && !(literal.Value is string text && IsWebAddress(text)))
            report(at, "link takes an absolute http:// or https:// address in quotes, e.g. {{ link \"https://shop.example/sale\" }}, or a link of the model such as links.shop.");
        if (function.Name == "format_date" && count == 2 && arguments[1] is not ScriptLiteral { Value: "short" or "long" })
            report(at, "The second argument of 'format_date' is \"short\" or \"long\".");
    }

    /// <summary>Variables the template defines itself: assignments, loop variables, functions, captures.</summary>
    static HashSet<string> Locals(IEnumerable<ScriptNode> nodes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            switch (node)
            {
                case ScriptAssignExpression { Target: ScriptVariable variable }: names.Add(variable.Name); break;
                case ScriptForStatement { Variable: ScriptVariable variable }: names.Add(variable.Name); break;
                case ScriptFunction function:
                    if (function.NameOrDoToken is ScriptVariable name) names.Add(name.Name);
                    if (function.Parameters is { } parameters)
                        foreach (var parameter in PartialInliner.Descendants(parameters).OfType<ScriptVariable>()) names.Add(parameter.Name);
                    break;
                case ScriptCaptureStatement { Target: ScriptVariable variable }: names.Add(variable.Name); break;
            }
        }
        return names;
    }

    static bool IsDeclaration(ScriptVariable variable, ScriptNode? parent) => parent switch
    {
        ScriptAssignExpression assign => Same(assign.Target, variable),
        ScriptForStatement loop => Same(loop.Variable, variable),
        ScriptFunction => true,
        ScriptCaptureStatement capture => Same(capture.Target, variable),
        ScriptNamedArgument named => Same(named.Name, variable),
        ScriptWrapStatement => true,
        _ => variable is ScriptVariableLocal || variable.Name == "$$",
    };

    static bool Same(ScriptNode? a, ScriptNode? b) => ReferenceEquals(a, b);

    static void CheckName(ScriptVariableGlobal variable, ScriptNode? parent, HashSet<string> locals, TemplateSandbox sandbox,
        IReadOnlyDictionary<string, TemplateFunction> functions, Action<ScriptNode, string> report)
    {
        var name = variable.Name;
        if (TemplateSchema.Root.Child(name) is not null || locals.Contains(name) || LanguageNames.Contains(name)) return;
        if (parent is ScriptWrapStatement || name == "include" && parent is ScriptFunctionCall) return;
        if (functions.TryGetValue(name, out var function))
        {
            // Used as a value ({{ referral_url }}) Scriban calls the function with no arguments.
            if (parent is not ScriptFunctionCall call || !Same(call.Target, variable))
                CheckArguments(function, parent is ScriptPipeCall pipe && Same(pipe.To, variable), [], variable, report);
            return;
        }
        if (sandbox.IsBuiltinObject(name))
        {
            report(variable, $"'{name}' is a group of functions: write one of them, e.g. {name}.{sandbox.Objects.First(o => o.Name == name).Members.First()}.");
            return;
        }
        if (sandbox.Builtins.ContainsKey(name)) return;
        var isCall = parent is ScriptFunctionCall c && Same(c.Target, variable) || parent is ScriptPipeCall p && Same(p.To, variable);
        report(variable, isCall
            ? $"Unknown function '{name}'. Our functions: {string.Join(", ", functions.Keys.Order())}; Scriban's: {string.Join(", ", sandbox.Objects.Select(o => o.Name + ".*").Order())}."
            : $"Unknown variable '{name}'. The email's data: {string.Join(", ", TemplateSchema.Root.Names)}.");
    }

    static ScriptNode? Root(ScriptNode? node) => node switch
    {
        ScriptMemberExpression member => Root(member.Target),
        ScriptIndexerExpression indexer => Root(indexer.Target),
        _ => node,
    };

    /// <summary>A member chain such as <c>customer.attributes.tier</c> or <c>string.upcase</c>, checked segment by segment.</summary>
    static void CheckPath(ScriptMemberExpression chain, HashSet<string> locals, TemplateSandbox sandbox, Action<ScriptNode, string> report)
    {
        var segments = new List<ScriptVariable>();
        ScriptNode? current = chain;
        while (current is ScriptMemberExpression member)
        {
            if (member.Member is { } segment) segments.Insert(0, segment);
            current = member.Target;
        }
        if (segments.Count == 0) return;
        if (current is not ScriptVariableGlobal root || locals.Contains(root.Name) || LanguageNames.Contains(root.Name)) return;
        if (sandbox.IsBuiltinObject(root.Name))
        {
            if (!sandbox.HasMember(root.Name, segments[0].Name))
                report(segments[0], $"Unknown function '{root.Name}.{segments[0].Name}'. {root.Name}.* has: {string.Join(", ", sandbox.Objects.First(o => o.Name == root.Name).Members.Order())}.");
            return;
        }
        var schema = TemplateSchema.Root.Child(root.Name);
        if (schema is null)
        {
            report(root, $"Unknown variable '{root.Name}'. The email's data: {string.Join(", ", TemplateSchema.Root.Names)}.");
            return;
        }
        var path = root.Name;
        foreach (var segment in segments)
        {
            var next = schema.Child(segment.Name);
            var known = schema.Names.ToList();
            path += "." + segment.Name;
            if (next is null)
            {
                report(segment, known.Count == 0
                    ? $"Unknown variable '{path}'."
                    : $"Unknown variable '{path}': '{segment.Name}' is not one of {string.Join(", ", known)}.");
                return;
            }
            schema = next;
        }
    }

    /// <summary>
    /// Where a template reads the offer outside an <c>{{ if offer }}</c> (or any condition naming the offer): with a
    /// campaign that gives no offer, those places print nothing. Our partials are not expanded, so the coupon block
    /// (which guards itself) does not count.
    /// </summary>
    public static List<(int Line, int Column)> UnguardedOfferUses(string source)
    {
        var template = Template.Parse(source);
        if (template.HasErrors) return [];
        var nodes = PartialInliner.Descendants(template.Page!).ToList();
        var parents = Parents(nodes);
        static bool NamesOffer(ScriptNode? node) => node is not null && PartialInliner.Descendants(node).OfType<ScriptVariableGlobal>().Any(v => v.Name == "offer");
        // Guarded inside a branch of an if naming the offer; a condition itself prints nothing.
        bool Guarded(ScriptNode node)
        {
            for (var current = node; parents.TryGetValue(current, out var parent); current = parent)
                if (parent is ScriptIfStatement branch && (ReferenceEquals(branch.Condition, current) || NamesOffer(branch.Condition))) return true;
            return false;
        }
        return nodes.OfType<ScriptVariableGlobal>()
            .Where(v => v.Name == "offer" && !(parents.GetValueOrDefault(v) is ScriptMemberExpression member && !ReferenceEquals(member.Target, v)))
            .Where(v => !Guarded(v))
            .Select(v => (v.Span.Start.Line + 1, v.Span.Start.Column + 1)).Distinct().ToList();
    }

    /// <summary>Each node's parent: Scriban's nodes know their children only.</summary>
    static Dictionary<ScriptNode, ScriptNode> Parents(IEnumerable<ScriptNode> nodes)
    {
        var parents = new Dictionary<ScriptNode, ScriptNode>(ReferenceEqualityComparer.Instance);
        foreach (var node in nodes)
            for (var i = 0; i < node.ChildrenCount; i++)
                if (node.GetChildren(i) is { } child) parents[child] = node;
        return parents;
    }

    /// <summary>Scriban's parser messages, without its internal token names where a marketer would not know them.</summary>
    static string Reword(string message)
    {
        if (message.Contains("without a corresponding beginning", StringComparison.Ordinal)) return "This {{ end }} closes a block that was never opened.";
        if (message.Contains("string not terminated", StringComparison.Ordinal)) return "A text in quotes is not closed.";
        var colon = message.IndexOf(": ", StringComparison.Ordinal);
        if (message.StartsWith("Error while parsing", StringComparison.Ordinal) && colon > 0) message = message[(colon + 2)..];
        return message
            .Replace("Found <EOF>", "The text ended", StringComparison.Ordinal)
            .Replace("<EOF>", "the end of the text", StringComparison.Ordinal)
            .Replace("<expression>", "a value", StringComparison.Ordinal)
            .Replace("<variable>", "a name", StringComparison.Ordinal);
    }

    /// <summary>The first <c>{{</c> with no <c>}}</c> before the next <c>{{</c> or the end (outside <c>{%{ }%}</c>).</summary>
    static (int Line, int Column)? UnclosedExpression(string source)
    {
        var position = 0;
        while ((position = source.IndexOf("{{", position, StringComparison.Ordinal)) >= 0)
        {
            if (position > 0 && source[position - 1] == '%') { position = Math.Max(position + 2, source.IndexOf("}%}", position, StringComparison.Ordinal)); continue; }
            var close = source.IndexOf("}}", position + 2, StringComparison.Ordinal);
            var next = source.IndexOf("{{", position + 2, StringComparison.Ordinal);
            if (close < 0 || (next >= 0 && next < close)) return LineAndColumn(source, position);
            position = close + 2;
        }
        return null;
    }

    static readonly System.Text.RegularExpressions.Regex BlockKeyword = new(@"\{\{~?-?\s*(?<keyword>if|for|while|capture|wrap|func|case|with|tablerow|end)\b",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The innermost block opener left open at the end of the text, by a count of openers and <c>end</c>s.</summary>
    static (int Line, int Column, string Keyword)? UnclosedBlock(string source)
    {
        var open = new Stack<(int Index, string Keyword)>();
        foreach (System.Text.RegularExpressions.Match match in BlockKeyword.Matches(source))
        {
            var keyword = match.Groups["keyword"].Value;
            if (keyword != "end") open.Push((match.Index, keyword));
            else if (open.Count > 0) open.Pop();
        }
        if (open.Count == 0) return null;
        var (index, name) = open.Peek();
        var (line, column) = LineAndColumn(source, index);
        return (line, column, name == "if" ? "if …" : name + " …");
    }

    public static bool IsWebAddress(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && !string.IsNullOrEmpty(uri.Host);

    public static (int Line, int Column) LineAndColumn(string source, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index && i < source.Length; i++)
            if (source[i] == '\n') { line++; lineStart = i + 1; }
        return (line, index - lineStart + 1);
    }
}
