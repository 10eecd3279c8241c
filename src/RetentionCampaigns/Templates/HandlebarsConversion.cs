using System.Globalization;
using System.Text;
using Scriban.Runtime;

namespace RetentionCampaigns.Templates;

/// <summary>
/// Converts a template written in our former Handlebars vocabulary to Scriban, for versions stored before the move.
/// Every construct that vocabulary allowed has a Scriban form: variables (camelCase to snake_case, the shop's
/// attribute names kept), <c>#if</c>/<c>#unless</c>/<c>else</c>/<c>else if</c> with Handlebars' truthiness
/// (empty text and zero are false there, true in Scriban, so such conditions are spelled out), <c>#each</c> with
/// <c>this</c>, <c>@index</c>/<c>@first</c>/<c>@last</c>/<c>@key</c> and <c>{{else}}</c> for an empty list, <c>#with</c>, <c>../</c> and <c>@root</c>,
/// our helpers and partials, the layout block, comments, <c>~</c> whitespace control and <c>\{{</c>. What it cannot
/// convert (unescaped output, decorators, raw blocks, other block partials) is reported, and the caller keeps the
/// version as it was, marked invalid.
/// </summary>
public static class HandlebarsConversion
{
    public sealed record Result(string? Scriban, string? Problem);

    public static Result Convert(string source)
    {
        try
        {
            return new Result(new Converter(source).Run(), null);
        }
        catch (ConversionException exception)
        {
            return new Result(null, exception.Message);
        }
    }

    sealed class ConversionException(string message) : Exception(message);

    /// <summary>What a path means at a point of the template: the Scriban expression for <c>this</c> and its schema.</summary>
    /// <param name="Context">True where Handlebars moves the context (each, with, a section), which <c>../</c> leaves.</param>
    sealed record Frame(string Prefix, TemplateSchema Schema, string Block, bool Context, string? LoopVariable = null, bool IsDictionary = false);

    sealed class Converter(string source)
    {
        readonly StringBuilder output = new(source.Length + source.Length / 4);
        readonly Stack<Frame> frames = new();
        int loopVariables;

        public string Run()
        {
            frames.Push(new Frame("", TemplateSchema.Root, "", Context: true));
            var position = 0;
            while (position < source.Length)
            {
                var open = source.IndexOf("{{", position, StringComparison.Ordinal);
                if (open < 0) { output.Append(source, position, source.Length - position); break; }
                var (line, _) = TemplateChecker.LineAndColumn(source, open);
                if (open > 0 && source[open - 1] == '\\')
                {
                    // \{{ is literal text in Handlebars; Scriban's escape block says the same.
                    output.Append(source, position, open - 1 - position).Append("{%{{{}%}");
                    position = open + 2;
                    continue;
                }
                output.Append(source, position, open - position);
                if (At(open, "{{!--"))
                {
                    var end = source.IndexOf("--}}", open + 5, StringComparison.Ordinal);
                    if (end < 0) throw Fail(line, "a comment is not closed with --}}");
                    output.Append("{{## ").Append(source[(open + 5)..end].Replace("##", "# #", StringComparison.Ordinal).Trim()).Append(" ##}}");
                    position = end + 4;
                    continue;
                }
                if (At(open, "{{{")) throw Fail(line, "unescaped output ({{{ }}}) is not allowed");
                var close = source.IndexOf("}}", open + 2, StringComparison.Ordinal);
                if (close < 0) throw Fail(line, "an expression is not closed with }}");
                position = close + 2;
                var inner = source[(open + 2)..close];
                var trimLeft = inner.StartsWith('~');
                var trimRight = inner.EndsWith('~');
                inner = inner.Trim('~').Trim();
                output.Append(trimLeft ? "{{~ " : "{{ ").Append(Tag(inner, line)).Append(trimRight ? " ~}}" : " }}");
            }
            if (frames.Count > 1) throw Fail(null, $"{{{{#{frames.Peek().Block}}}}} is never closed");
            return output.ToString();
        }

        bool At(int index, string token) => string.CompareOrdinal(source, index, token, 0, token.Length) == 0;

        static ConversionException Fail(int? line, string problem) =>
            new($"The Handlebars template could not be converted to Scriban{(line is null ? "" : $" (line {line})")}: {problem}. It is kept as it was; rewrite it in the new syntax.");

        string Tag(string inner, int line)
        {
            if (inner.StartsWith('!')) return "## " + inner[1..].Replace("##", "# #", StringComparison.Ordinal).Trim() + " ##";
            if (inner.Length == 0) throw Fail(line, "an empty expression {{}}");
            switch (inner[0])
            {
                case '&': throw Fail(line, "unescaped output ({{& }}) is not allowed");
                case '#' when inner.Length > 1 && inner[1] == '*': throw Fail(line, "decorators are not supported");
                case '#' when inner.Length > 1 && inner[1] == '>':
                {
                    var call = Parse(inner[2..], line);
                    if (call.Head != PartialInliner.LayoutName) throw Fail(line, $"the block partial '{call.Head}' has no Scriban form; only the layout wraps a body");
                    frames.Push(frames.Peek() with { Block = call.Head });
                    return "wrap layout" + NamedArguments(call, line);
                }
                case '>':
                {
                    var call = Parse(inner[1..], line);
                    if (call.Arguments.Count > 0) throw Fail(line, $"the partial '{call.Head}' takes only name=value parameters");
                    return $"include \"{call.Head}\"" + NamedArguments(call, line);
                }
                case '#': return OpenBlock(Parse(inner[1..], line), line, inverse: false);
                case '^' when inner.Trim('^').Trim().Length == 0: return Else(line);
                case '^': return OpenBlock(Parse(inner[1..], line), line, inverse: true);
                case '/':
                    if (frames.Count == 1) throw Fail(line, $"{{{{{inner}}}}} closes a block that was never opened");
                    frames.Pop();
                    return "end";
            }
            if (inner == "else") return Else(line);
            if (inner.StartsWith("else ", StringComparison.Ordinal))
            {
                var chained = Parse(inner[5..], line);
                if (chained.Head is not ("if" or "unless") || chained.Arguments.Count != 1) throw Fail(line, "only 'else if' and 'else unless' with one condition may be chained");
                var condition = Condition(chained.Arguments[0], line);
                return "else if " + (chained.Head == "unless" ? $"!({condition})" : condition);
            }
            var expression = Parse(inner, line);
            return expression.Arguments.Count == 0 && expression.Hash.Count == 0 && !IsHelper(expression.Head)
                ? Path(expression.Head, line).Expression
                : Call(expression, line);
        }

        string Else(int line)
        {
            if (frames.Count == 1) throw Fail(line, "{{else}} outside of a block");
            if (frames.Peek().Block == "each")
            {
                // Handlebars' {{else}} in #each is for an empty list, in the outer context: Scriban's for ... else.
                frames.Pop();
                frames.Push(frames.Peek() with { Block = "each-else", Context = false });
            }
            return "else";
        }

        string OpenBlock(HandlebarsExpression block, int line, bool inverse)
        {
            var frame = frames.Peek();
            switch (block.Head)
            {
                case "if" or "unless" when block.Arguments.Count == 1:
                {
                    var condition = Condition(block.Arguments[0], line);
                    frames.Push(frame with { Block = block.Head, Context = false });
                    return "if " + (block.Head == "unless" ^ inverse ? $"!({condition})" : condition);
                }
                case "each" when block.Arguments.Count == 1 && !inverse:
                {
                    var (expression, schema) = Argument(block.Arguments[0], line);
                    var variable = "item" + (loopVariables++ == 0 ? "" : loopVariables.ToString(CultureInfo.InvariantCulture));
                    var isDictionary = schema is { IsOpen: true };
                    if (schema is not { IsOpen: true } and not { Element: not null }) throw Fail(line, $"'{block.Arguments[0].Text}' is not a list");
                    var element = isDictionary ? schema!.Child("any")! : schema!.Element!;
                    frames.Push(new Frame(isDictionary ? variable + ".value" : variable, element, "each", true, variable, isDictionary));
                    return $"for {variable} in {expression}";
                }
                case "with" when block.Arguments.Count == 1 && !inverse:
                {
                    var (expression, schema) = Argument(block.Arguments[0], line);
                    if (schema is null || schema.ValueType is not null) throw Fail(line, $"{{{{#with}}}} needs an object, not '{block.Arguments[0].Text}'");
                    frames.Push(new Frame(expression, schema, "with", true));
                    return "if " + expression;
                }
                default:
                    if (block.Arguments.Count == 0 && block.Hash.Count == 0 && !IsHelper(block.Head))
                    {
                        // A section: {{#offer}}...{{/offer}} is "if offer" with the offer as context in Handlebars.
                        var (expression, schema) = Path(block.Head, line);
                        frames.Push(inverse || schema is null || schema.ValueType is not null
                            ? frame with { Block = block.Head, Context = false }
                            : new Frame(expression, schema, block.Head, true));
                        var condition = Truthy(expression, schema);
                        return "if " + (inverse ? $"!({condition})" : condition);
                    }
                    throw Fail(line, $"the block {{{{#{block.Head}}}}} has no Scriban form");
            }
        }

        string NamedArguments(HandlebarsExpression call, int line)
        {
            var builder = new StringBuilder();
            foreach (var (name, value) in call.Hash) builder.Append(' ').Append(name).Append(": ").Append(Argument(value, line).Expression);
            return builder.ToString();
        }

        string Call(HandlebarsExpression expression, int line)
        {
            if (!IsHelper(expression.Head)) throw Fail(line, $"unknown helper '{expression.Head}'");
            if (expression.Hash.Count > 0) throw Fail(line, $"'{expression.Head}' takes no named parameters");
            var builder = new StringBuilder(expression.Head == "date" ? "format_date" : expression.Head);
            foreach (var argument in expression.Arguments) builder.Append(' ').Append(Argument(argument, line).Expression);
            return builder.ToString();
        }

        static bool IsHelper(string name) => name is "money" or "date" or "plural" or "default" or "link" or "referral_url";

        (string Expression, TemplateSchema? Schema) Argument(HandlebarsArgument argument, int line) => argument.Kind switch
        {
            ArgumentKind.String => (Quote(argument.Text), null),
            ArgumentKind.Number => (argument.Text, null),
            ArgumentKind.Literal => (argument.Text == "undefined" ? "null" : argument.Text, null),
            ArgumentKind.SubExpression => ("(" + Call(argument.Inner!, line) + ")", null),
            _ => Path(argument.Text, line),
        };

        string Condition(HandlebarsArgument argument, int line)
        {
            var (expression, schema) = Argument(argument, line);
            return argument.Kind == ArgumentKind.Path ? Truthy(expression, schema) : expression;
        }

        /// <summary>Handlebars' truthiness in Scriban: empty text, zero and empty lists are false there.</summary>
        static string Truthy(string expression, TemplateSchema? schema) => schema switch
        {
            { ValueType: { } type } when type == typeof(string) => $"!(string.empty {expression})",
            { ValueType: { } type } when type.IsPrimitive || type == typeof(decimal) => $"({expression} ?? 0) != 0",
            { Element: not null } => $"(array.size {expression}) > 0",
            _ => expression,
        };

        (string Expression, TemplateSchema? Schema) Path(string path, int line)
        {
            if (path.StartsWith('@'))
            {
                if (path.StartsWith("@root.", StringComparison.Ordinal)) return Walk(path[6..], frames.Last(), line, path);
                var each = frames.FirstOrDefault(f => f.Block == "each") ?? throw Fail(line, $"'{path}' exists only inside {{{{#each}}}}");
                return path switch
                {
                    "@index" => ("for.index", null),
                    "@first" => ("for.first", null),
                    "@last" => ("for.last", null),
                    "@key" when each.IsDictionary => (each.LoopVariable + ".key", null),
                    _ => throw Fail(line, $"unknown variable '{path}'"),
                };
            }
            var frame = frames.Peek();
            var rest = path;
            var up = 0;
            while (rest.StartsWith("../", StringComparison.Ordinal)) { up++; rest = rest[3..]; }
            if (up > 0)
            {
                var scopes = frames.Where(f => f.Context).ToList();
                if (up >= scopes.Count) throw Fail(line, $"'{path}' goes above the top of the model");
                frame = scopes[up];
            }
            if (rest is "this" or ".") return (frame.Prefix.Length == 0 ? throw Fail(line, "'this' at the top of the model") : frame.Prefix, frame.Schema);
            if (rest.StartsWith("this.", StringComparison.Ordinal) || rest.StartsWith("this/", StringComparison.Ordinal)) rest = rest[5..];
            return Walk(rest, frame, line, path);
        }

        static (string Expression, TemplateSchema? Schema) Walk(string path, Frame frame, int line, string original)
        {
            var builder = new StringBuilder(frame.Prefix);
            var schema = frame.Schema;
            foreach (var segment in path.Split('.', '/'))
            {
                // The shop's attribute names are dictionary keys: kept as written, in brackets when not a plain name.
                var name = schema.IsOpen ? segment : StandardMemberRenamer.Rename(segment);
                var next = segment.Length == 0 ? null : schema.Child(name);
                if (next is null) throw Fail(line, $"unknown variable '{original}'");
                if (schema.IsOpen && !IsIdentifier(segment)) builder.Append('[').Append(Quote(segment)).Append(']');
                else builder.Append(builder.Length > 0 ? "." : "").Append(name);
                schema = next;
            }
            return (builder.ToString(), schema);
        }

        static bool IsIdentifier(string text) => text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_') && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

        static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

        static HandlebarsExpression Parse(string text, int line) =>
            HandlebarsExpression.Parse(text.Trim(), out var error) ?? throw Fail(line, error!.TrimEnd('.'));
    }

    enum ArgumentKind { Path, String, Number, Literal, SubExpression }

    sealed record HandlebarsArgument(ArgumentKind Kind, string Text, HandlebarsExpression? Inner);

    /// <summary>A mustache's inside: a head (helper or path), positional arguments and name=value pairs.</summary>
    sealed record HandlebarsExpression(string Head, List<HandlebarsArgument> Arguments, Dictionary<string, HandlebarsArgument> Hash)
    {
        public static HandlebarsExpression? Parse(string text, out string? error)
        {
            var index = 0;
            var expression = ParseCall(text, ref index, nested: false, out error);
            if (expression is not null && index < text.Length) { error = $"unexpected '{text[index..]}' in the expression"; return null; }
            return expression;
        }

        static HandlebarsExpression? ParseCall(string text, ref int index, bool nested, out string? error)
        {
            SkipSpace(text, ref index);
            var head = ReadArgument(text, ref index, out error);
            if (head is null) return null;
            if (head.Kind != ArgumentKind.Path) { error = $"an expression must start with a name, not {head.Text}"; return null; }
            var arguments = new List<HandlebarsArgument>();
            var hash = new Dictionary<string, HandlebarsArgument>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace(text, ref index);
                if (index >= text.Length) break;
                if (text[index] == ')')
                {
                    if (nested) break;
                    error = "unbalanced ')' in the expression";
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
                else if (hash.Count > 0) { error = $"positional argument {argument.Text} after named parameters"; return null; }
                else arguments.Add(argument);
            }
            return new HandlebarsExpression(head.Text, arguments, hash);
        }

        static HandlebarsArgument? ReadArgument(string text, ref int index, out string? error)
        {
            error = null;
            SkipSpace(text, ref index);
            if (index >= text.Length) { error = "a name is missing in the expression"; return null; }
            var c = text[index];
            if (c is '"' or '\'')
            {
                var end = text.IndexOf(c, index + 1);
                if (end < 0) { error = $"the text starting with {c} is not closed"; return null; }
                var value = text[(index + 1)..end];
                index = end + 1;
                return new HandlebarsArgument(ArgumentKind.String, value, null);
            }
            if (c == '(')
            {
                index++;
                var inner = ParseCall(text, ref index, nested: true, out error);
                if (inner is null) return null;
                if (index >= text.Length || text[index] != ')') { error = "a '(' is not closed with ')'"; return null; }
                index++;
                return new HandlebarsArgument(ArgumentKind.SubExpression, inner.Head, inner);
            }
            var start = index;
            while (index < text.Length && !char.IsWhiteSpace(text[index]) && text[index] is not ('(' or ')' or '=' or '"' or '\'')) index++;
            var word = text[start..index];
            if (word.Length == 0) { error = $"unexpected '{c}' in the expression"; return null; }
            if (word is "true" or "false" or "null" or "undefined") return new HandlebarsArgument(ArgumentKind.Literal, word, null);
            if (decimal.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                return new HandlebarsArgument(ArgumentKind.Number, word, null);
            if (word.Contains('[') || word.Contains(']')) { error = $"segment literals ({word}) are not supported"; return null; }
            return new HandlebarsArgument(ArgumentKind.Path, word, null);
        }

        static void SkipSpace(string text, ref int index)
        {
            while (index < text.Length && char.IsWhiteSpace(text[index])) index++;
        }
    }
}
