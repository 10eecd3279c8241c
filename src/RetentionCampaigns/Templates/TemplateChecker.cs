namespace RetentionCampaigns.Templates;

/// <summary>
/// A static check of a Handlebars source before Handlebars.Net sees it: Handlebars.Net reports most syntax
/// errors without a position and accepts unknown variables and helpers (they render as nothing), which would let
/// a typo reach thousands of customers as an empty greeting. This scanner knows the template model, our
/// helpers and partials, and the Handlebars tag forms we allow; it reports every problem with line and column.
/// </summary>
public static class TemplateChecker
{
    /// <summary>Helpers a template may call, with their argument counts (min, max).</summary>
    public static readonly IReadOnlyDictionary<string, (int Min, int Max)> Helpers = new Dictionary<string, (int, int)>
    {
        ["money"] = (1, 1),
        ["date"] = (1, 2),
        ["plural"] = (3, 3),
        ["default"] = (2, 2),
        ["link"] = (1, 1),
        ["referral_url"] = (0, 0),
    };

    /// <summary>What each helper takes and prints, for the vocabulary a template editor shows.</summary>
    public static readonly IReadOnlyList<HelperDoc> HelperDocs =
    [
        new("money", "an amount of money, e.g. offer.value", "the amount in the customer's language: 12,50 € or €12.50", "{{money offer.value}}"),
        new("date", "a date, then optionally \"short\" or \"long\" (the default)", "the date in the customer's language: 31. Dezember 2026 or 31 December 2026; short: 31.12.2026 or 31/12/2026", "{{date offer.expiresAt \"short\"}}"),
        new("plural", "a number, the word for one, the word for several", "the number followed by the fitting word, e.g. 3 Bestellungen (the number is printed too)", "{{plural metrics.orderCount \"order\" \"orders\"}}"),
        new("default", "a value, then the text to print when it is empty", "the value, or the text when the value is empty", "{{default customer.firstName \"there\"}}"),
        new("link", "an absolute http:// or https:// address in quotes, or a link of the model such as links.shop", "the address, through our click tracking (/c/...) when the customer allows tracking", "{{link \"https://shop.example/sale\"}}"),
        new("referral_url", "nothing", "the customer's referral link (made on first use); empty when they left the referral program", "{{referral_url}}"),
    ];

    static readonly HashSet<string> BlockHelpers = ["if", "unless", "each", "with"];
    static readonly HashSet<string> DataVariables = ["@index", "@first", "@last", "@key"];

    public static List<(int Line, int Column, string Message)> Check(string source, IReadOnlySet<string> partials)
    {
        var problems = new List<(int, int, string)>();
        var scopes = new Stack<Block>();
        var position = 0;
        while (position < source.Length)
        {
            var open = source.IndexOf("{{", position, StringComparison.Ordinal);
            if (open < 0) break;
            if (open > 0 && source[open - 1] == '\\') { position = open + 2; continue; }
            var (line, column) = LineAndColumn(source, open);
            void Report(string message) => problems.Add((line, column, message));

            if (At(source, open, "{{!--"))
            {
                var end = source.IndexOf("--}}", open + 5, StringComparison.Ordinal);
                if (end < 0) { Report("The comment is not closed with --}}."); break; }
                position = end + 4;
                continue;
            }
            if (At(source, open, "{{{{")) Report("Raw blocks ({{{{ }}}}) are not allowed.");
            var triple = At(source, open, "{{{");
            var close = source.IndexOf(triple ? "}}}" : "}}", open + 2, StringComparison.Ordinal);
            var nextOpen = source.IndexOf("{{", open + 2, StringComparison.Ordinal);
            if (close < 0 || (nextOpen >= 0 && nextOpen < close && !At(source, open, "{{!")))
            {
                Report("The expression is not closed with }}.");
                position = open + 2;
                continue;
            }
            position = close + (triple ? 3 : 2);
            if (triple)
            {
                Report("Unescaped output ({{{ }}}) is not allowed: customer data must stay HTML-escaped.");
                continue;
            }
            var inner = source[(open + 2)..close].Trim().Trim('~').Trim();
            if (inner.StartsWith('!')) continue;
            if (inner.Length == 0) { Report("Empty expression {{}}."); continue; }

            switch (inner[0])
            {
                case '&':
                    Report("Unescaped output ({{& }}) is not allowed: customer data must stay HTML-escaped.");
                    break;
                case '#' when inner.Length > 1 && inner[1] == '>':
                    CheckPartial(inner[2..].Trim(), partials, scopes, Report);
                    scopes.Push(new Block(FirstWord(inner[2..].Trim()), line, column, Current(scopes), IsPartial: true));
                    break;
                case '#' when inner.Length > 1 && inner[1] == '*':
                    Report("Decorators are not allowed.");
                    break;
                case '#':
                    OpenBlock(inner[1..].Trim(), scopes, line, column, Report);
                    break;
                case '^' when inner.Trim('^').Trim().Length == 0:
                    CheckElse(scopes, Report);
                    break;
                case '^':
                    OpenBlock(inner[1..].Trim(), scopes, line, column, Report, inverse: true);
                    break;
                case '/':
                    var name = inner[1..].Trim();
                    if (scopes.Count == 0) Report($"{{{{/{name}}}}} closes a block that was never opened.");
                    else
                    {
                        var block = scopes.Pop();
                        if (!string.Equals(block.Name, name, StringComparison.Ordinal))
                            Report($"{{{{/{name}}}}} does not match {{{{#{block.Name}}}}} opened at line {block.Line}, column {block.Column}.");
                    }
                    break;
                case '>':
                    CheckPartial(inner[1..].Trim(), partials, scopes, Report);
                    break;
                default:
                    if (inner == "else") CheckElse(scopes, Report);
                    else if (inner.StartsWith("else ", StringComparison.Ordinal))
                    {
                        CheckElse(scopes, Report);
                        var chained = Expression.Parse(inner[5..].Trim(), out var error);
                        if (chained is null) Report(error!);
                        else if (chained.Head is not ("if" or "unless")) Report($"{{{{else {chained.Head}}}}}: only 'else if' and 'else unless' may be chained.");
                        else if (chained.Arguments.Count != 1) Report($"{{{{else {chained.Head}}}}} needs exactly one condition.");
                        else CheckArgument(chained.Arguments[0], scopes, Report);
                    }
                    else CheckOutput(inner, scopes, Report);
                    break;
            }
        }
        foreach (var block in scopes)
            problems.Add((block.Line, block.Column, $"{{{{#{(block.IsPartial ? ">" : "")}{block.Name}}}}} is never closed with {{{{/{block.Name}}}}}."));
        problems.Sort();
        return problems;
    }

    sealed record Block(string Name, int Line, int Column, Scope Scope, bool IsPartial = false);

    /// <summary>What <c>this</c> means at a point of the template; <c>InEach</c> allows @index and friends.</summary>
    sealed record Scope(TemplateSchema Schema, Scope? Parent, bool InEach);

    static readonly Scope RootScope = new(TemplateSchema.Root, null, false);

    static Scope Current(Stack<Block> scopes) => scopes.Count == 0 ? RootScope : scopes.Peek().Scope;

    static void OpenBlock(string text, Stack<Block> scopes, int line, int column, Action<string> report, bool inverse = false)
    {
        var expression = Expression.Parse(text, out var error);
        if (expression is null) { report(error!); scopes.Push(new Block(FirstWord(text), line, column, Current(scopes))); return; }
        var scope = Current(scopes);
        var inner = scope;
        if (BlockHelpers.Contains(expression.Head))
        {
            if (expression.Arguments.Count != 1 || expression.Hash.Count > 0)
                report($"{{{{#{expression.Head}}}}} needs exactly one argument.");
            else
            {
                var target = CheckArgument(expression.Arguments[0], scopes, report);
                if (expression.Head == "each" && !inverse)
                {
                    if (target is { Element: null }) report($"{{{{#each {expression.Arguments[0].Text}}}}}: '{expression.Arguments[0].Text}' is not a list.");
                    inner = new Scope(target?.Element ?? TemplateSchema.Root, scope, InEach: true);
                }
                else if (expression.Head == "with" && !inverse && target is not null) inner = new Scope(target, scope, scope.InEach);
            }
        }
        else if (Helpers.ContainsKey(expression.Head)) report($"'{expression.Head}' is not a block helper: write {{{{{expression.Head} ...}}}}.");
        else if (expression.Arguments.Count > 0 || expression.Hash.Count > 0) report($"Unknown block helper '{expression.Head}'.");
        else CheckArgument(new Argument(ArgumentKind.Path, expression.Head, null), scopes, report);
        scopes.Push(new Block(expression.Head, line, column, inner));
    }

    static void CheckElse(Stack<Block> scopes, Action<string> report)
    {
        if (scopes.Count == 0 || scopes.Peek().IsPartial) report("{{else}} outside of an {{#if}}, {{#unless}}, {{#each}} or {{#with}} block.");
    }

    static void CheckPartial(string text, IReadOnlySet<string> partials, Stack<Block> scopes, Action<string> report)
    {
        var expression = Expression.Parse(text, out var error);
        if (expression is null) { report(error!); return; }
        if (!partials.Contains(expression.Head))
            report($"Unknown partial '{expression.Head}'. Known partials: {string.Join(", ", partials.Order())}.");
        if (expression.Arguments.Count > 0) report($"Partial '{expression.Head}' takes only name=value parameters.");
        foreach (var argument in expression.Hash.Values) CheckArgument(argument, scopes, report);
    }

    static void CheckOutput(string text, Stack<Block> scopes, Action<string> report)
    {
        var expression = Expression.Parse(text, out var error);
        if (expression is null) { report(error!); return; }
        if (expression.Arguments.Count == 0 && expression.Hash.Count == 0 && !Helpers.ContainsKey(expression.Head))
        {
            CheckArgument(new Argument(ArgumentKind.Path, expression.Head, null), scopes, report);
            return;
        }
        CheckHelperCall(expression, scopes, report);
    }

    static void CheckHelperCall(Expression expression, Stack<Block> scopes, Action<string> report)
    {
        if (!Helpers.TryGetValue(expression.Head, out var arity))
        {
            report(BlockHelpers.Contains(expression.Head)
                ? $"'{expression.Head}' is a block helper: write {{{{#{expression.Head} ...}}}} ... {{{{/{expression.Head}}}}}."
                : $"Unknown helper '{expression.Head}'. Known helpers: {string.Join(", ", Helpers.Keys.Order())}.");
            return;
        }
        if (expression.Arguments.Count < arity.Min || expression.Arguments.Count > arity.Max)
            report(arity.Min == arity.Max
                ? $"'{expression.Head}' takes {arity.Min} argument{(arity.Min == 1 ? "" : "s")}, not {expression.Arguments.Count}."
                : $"'{expression.Head}' takes {arity.Min} to {arity.Max} arguments, not {expression.Arguments.Count}.");
        if (expression.Hash.Count > 0) report($"'{expression.Head}' takes no named parameters.");
        foreach (var argument in expression.Arguments) CheckArgument(argument, scopes, report);
        if (expression.Head == "link" && expression.Arguments.Count == 1)
        {
            var target = expression.Arguments[0];
            if (target.Kind is not (ArgumentKind.String or ArgumentKind.Path) || target.Kind == ArgumentKind.String && !IsWebAddress(target.Text))
                report("{{link}} takes an absolute http:// or https:// address in quotes, e.g. {{link \"https://shop.example/sale\"}}, or a link of the model such as links.shop.");
        }
        if (expression.Head == "date" && expression.Arguments.Count == 2 && expression.Arguments[1] is not { Kind: ArgumentKind.String, Text: "short" or "long" })
            report("The second argument of 'date' is \"short\" or \"long\".");
    }

    public static bool IsWebAddress(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && !string.IsNullOrEmpty(uri.Host);

    /// <summary>Checks one argument; returns the schema of a resolved path (null for literals and unknown paths).</summary>
    static TemplateSchema? CheckArgument(Argument argument, Stack<Block> scopes, Action<string> report)
    {
        switch (argument.Kind)
        {
            case ArgumentKind.SubExpression:
                CheckHelperCall(argument.Inner!, scopes, report);
                return null;
            case ArgumentKind.Path:
                return Resolve(argument.Text, Current(scopes), report);
            default:
                return null;
        }
    }

    static TemplateSchema? Resolve(string path, Scope scope, Action<string> report)
    {
        if (path.StartsWith('@'))
        {
            if (path.StartsWith("@root.", StringComparison.Ordinal)) return Walk(path[6..], TemplateSchema.Root, path, report);
            if (DataVariables.Contains(path) && scope.InEach) return null;
            report(DataVariables.Contains(path) ? $"'{path}' exists only inside {{{{#each}}}}." : $"Unknown variable '{path}'.");
            return null;
        }
        var rest = path;
        while (rest.StartsWith("../", StringComparison.Ordinal))
        {
            if (scope.Parent is null) { report($"'{path}' goes above the top of the model."); return null; }
            scope = scope.Parent;
            rest = rest[3..];
        }
        if (rest is "this" or ".") return scope.Schema;
        if (rest.StartsWith("this.", StringComparison.Ordinal) || rest.StartsWith("this/", StringComparison.Ordinal)) rest = rest[5..];
        return Walk(rest, scope.Schema, path, report);
    }

    static TemplateSchema? Walk(string path, TemplateSchema schema, string original, Action<string> report)
    {
        var current = schema;
        foreach (var segment in path.Split('.', '/'))
        {
            var next = segment.Length == 0 ? null : current.Child(segment);
            if (next is null)
            {
                var known = current.Names.ToList();
                report(known.Count == 0
                    ? $"Unknown variable '{original}'."
                    : $"Unknown variable '{original}': '{segment}' is not one of {string.Join(", ", known)}.");
                return null;
            }
            current = next;
        }
        return current;
    }

    static string FirstWord(string text)
    {
        var end = text.IndexOfAny([' ', '\t', '\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    static bool At(string source, int index, string token) => string.CompareOrdinal(source, index, token, 0, token.Length) == 0;

    public static (int Line, int Column) LineAndColumn(string source, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index && i < source.Length; i++)
            if (source[i] == '\n') { line++; lineStart = i + 1; }
        return (line, index - lineStart + 1);
    }

    enum ArgumentKind { Path, String, Number, Literal, SubExpression }

    sealed record Argument(ArgumentKind Kind, string Text, Expression? Inner);

    /// <summary>A mustache's inside: a head (helper or path), positional arguments and name=value pairs.</summary>
    sealed record Expression(string Head, List<Argument> Arguments, Dictionary<string, Argument> Hash)
    {
        public static Expression? Parse(string text, out string? error)
        {
            var index = 0;
            var expression = ParseCall(text, ref index, nested: false, out error);
            if (expression is not null && index < text.Length) { error = $"Unexpected '{text[index..]}' in the expression."; return null; }
            return expression;
        }

        static Expression? ParseCall(string text, ref int index, bool nested, out string? error)
        {
            error = null;
            SkipSpace(text, ref index);
            var head = ReadArgument(text, ref index, out error);
            if (head is null) return null;
            if (head.Kind != ArgumentKind.Path) { error = $"An expression must start with a name, not {head.Text}."; return null; }
            var arguments = new List<Argument>();
            var hash = new Dictionary<string, Argument>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace(text, ref index);
                if (index >= text.Length) break;
                if (text[index] == ')')
                {
                    if (nested) break;
                    error = "Unbalanced ')' in the expression.";
                    return null;
                }
                var argument = ReadArgument(text, ref index, out error);
                if (argument is null) return null;
                if (argument.Kind == ArgumentKind.Path && index < text.Length && text[index] == '=')
                {
                    index++;
                    var value = ReadArgument(text, ref index, out error);
                    if (value is null) return null;
                    hash[argument.Text] = value;
                }
                else if (hash.Count > 0) { error = $"Positional argument {argument.Text} after named parameters."; return null; }
                else arguments.Add(argument);
            }
            return new Expression(head.Text, arguments, hash);
        }

        static Argument? ReadArgument(string text, ref int index, out string? error)
        {
            error = null;
            SkipSpace(text, ref index);
            if (index >= text.Length) { error = "Missing a name in the expression."; return null; }
            var c = text[index];
            if (c is '"' or '\'')
            {
                var end = text.IndexOf(c, index + 1);
                if (end < 0) { error = $"The text starting with {c} is not closed."; return null; }
                var value = text[(index + 1)..end];
                index = end + 1;
                return new Argument(ArgumentKind.String, value, null);
            }
            if (c == '(')
            {
                index++;
                var inner = ParseCall(text, ref index, nested: true, out error);
                if (inner is null) return null;
                if (index >= text.Length || text[index] != ')') { error = "A '(' is not closed with ')'."; return null; }
                index++;
                return new Argument(ArgumentKind.SubExpression, inner.Head, inner);
            }
            var start = index;
            while (index < text.Length && !char.IsWhiteSpace(text[index]) && text[index] is not ('(' or ')' or '=' or '"' or '\'')) index++;
            var word = text[start..index];
            if (word.Length == 0) { error = $"Unexpected '{c}' in the expression."; return null; }
            if (word is "true" or "false" or "null" or "undefined") return new Argument(ArgumentKind.Literal, word, null);
            if (decimal.TryParse(word, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                return new Argument(ArgumentKind.Number, word, null);
            if (word.Contains('[') || word.Contains(']')) { error = $"Segment literals ({word}) are not supported."; return null; }
            return new Argument(ArgumentKind.Path, word, null);
        }

        static void SkipSpace(string text, ref int index)
        {
            while (index < text.Length && char.IsWhiteSpace(text[index])) index++;
        }
    }
}

public sealed record HelperDoc(string Name, string Arguments, string Output, string Example);
