using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace RetentionCampaigns.Api;

/// <summary>
/// Turns binding failures (malformed JSON, wrong types in fields, a query value that is no number, a missing body,
/// a wrong content type, a body too large) into RFC 7807 answers that name every wrong field in words a user
/// understands: no framework messages, no CLR type names.
/// </summary>
public sealed partial class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        var status = bad.StatusCode;
        var errors = new Dictionary<string, string[]>();
        string title;
        string? detail = null;
        if (bad.InnerException is JsonException json)
        {
            status = StatusCodes.Status400BadRequest;
            title = "The request body is not valid JSON for this endpoint.";
            // The serializer stops at the first wrong field; the body is read again to name them all.
            foreach (var (path, message) in await WrongFieldsAsync(context, ct)) errors.TryAdd(path, [message]);
            if (errors.Count == 0)
                errors[JsonPathToField(json.Path)] = [json.Message.Contains("could not be converted", StringComparison.Ordinal)
                    ? $"must be {Expected(ConvertedTo().Match(json.Message).Groups["type"].Value)}."
                    : "is not valid JSON here: check quotes, commas and brackets."];
        }
        else if (FailedToBind().Match(bad.Message) is { Success: true } bind)
        {
            title = "A query or path value has the wrong format.";
            errors[bind.Groups["name"].Value] = [$"'{bind.Groups["value"].Value}' is not {Expected(bind.Groups["type"].Value)}."];
        }
        else if (RequiredParameter().Match(bad.Message) is { Success: true } required)
        {
            title = "A required value is missing.";
            errors[required.Groups["name"].Value] = ["is required."];
        }
        else if (bad.Message.StartsWith("Implicit body inferred", StringComparison.Ordinal) || bad.Message.Contains("no body was provided", StringComparison.Ordinal))
        {
            title = "The request needs a JSON body.";
            detail = "Send the fields as a JSON object with Content-Type: application/json.";
        }
        else if (status == StatusCodes.Status415UnsupportedMediaType)
        {
            title = "The request body has a type this endpoint does not take.";
            detail = "Send JSON with Content-Type: application/json (CSV imports also take text/csv or a multipart form with the field 'file').";
        }
        else if (status == StatusCodes.Status413PayloadTooLarge)
        {
            title = "The request body is too large.";
            detail = $"{(context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } max ? $"At most {max / (1024 * 1024)} MB are taken. " : "")}" +
                     "Split the data into smaller requests, or import large files with the CLI (import customers FILE).";
        }
        else title = status == StatusCodes.Status400BadRequest ? "The request could not be read." : "The request was refused.";

        context.Response.StatusCode = status;
        var details = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (errors.Count > 0) details.Extensions["errors"] = errors;
        return await problems.TryWriteAsync(new() { HttpContext = context, ProblemDetails = details, Exception = exception });
    }

    [GeneratedRegex(@"converted to (?<type>[\w.`\[\], ]+?)\. Path")]
    private static partial Regex ConvertedTo();

    [GeneratedRegex(@"Failed to bind parameter ""(?<type>.+?) (?<name>\w+)"" from ""(?<value>.*)""")]
    private static partial Regex FailedToBind();

    [GeneratedRegex(@"Required parameter ""(?<type>.+?) (?<name>\w+)"" was not provided")]
    private static partial Regex RequiredParameter();

    /// <summary>What a value of a CLR type looks like, in a user's words.</summary>
    static string Expected(string typeName)
    {
        var name = typeName.Replace("System.", "").Replace("Nullable`1[", "").Replace("Nullable<", "").TrimEnd(']', '>');
        return name switch
        {
            "Int32" or "int" or "Int64" or "long" => "a whole number",
            "Decimal" or "decimal" or "Double" or "double" or "Single" => "a number",
            "Boolean" or "bool" => "true or false",
            "DateTime" or "DateTimeOffset" => "a date and time such as 2026-05-01T10:00:00Z",
            "DateOnly" => "a date such as 2026-05-01",
            "String" or "string" => "a text in quotes",
            _ when name.Contains("List", StringComparison.Ordinal) || name.EndsWith("[]", StringComparison.Ordinal) => "a list [ ... ]",
            _ when name.Contains("Dictionary", StringComparison.Ordinal) => "an object { ... }",
            _ => "an object { ... } with the documented fields",
        };
    }

    /// <summary>Every field of the body whose JSON kind does not fit the endpoint's request type, with its path.</summary>
    static async Task<List<(string Path, string Message)>> WrongFieldsAsync(HttpContext context, CancellationToken ct)
    {
        var found = new List<(string, string)>();
        // The exception handler clears the endpoint; its feature keeps the one that failed.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        var type = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        var body = context.Request.Body;
        if (type is null || !body.CanSeek) return found;
        body.Position = 0;
        try
        {
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            Walk(document.RootElement, type, "", found, 0);
        }
        catch (JsonException)
        {
            // Not JSON at all: the serializer's own position is the best there is.
        }
        return found;
    }

    static void Walk(JsonElement value, Type type, string path, List<(string, string)> found, int depth)
    {
        if (depth > 16 || value.ValueKind == JsonValueKind.Null) return;
        type = Nullable.GetUnderlyingType(type) ?? type;
        string Here() => path.Length == 0 ? "$" : path;
        if (type == typeof(JsonElement) || type == typeof(object)) return;
        if (type == typeof(string)) { if (value.ValueKind != JsonValueKind.String) found.Add((Here(), "must be a text in quotes.")); return; }
        if (type == typeof(bool)) { if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) found.Add((Here(), "must be true or false.")); return; }
        if (type == typeof(int) || type == typeof(long))
        {
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out _)) found.Add((Here(), "must be a whole number."));
            return;
        }
        if (type == typeof(decimal) || type == typeof(double) || type == typeof(float)) { if (value.ValueKind != JsonValueKind.Number) found.Add((Here(), "must be a number.")); return; }
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            if (value.ValueKind != JsonValueKind.String || !value.TryGetDateTimeOffset(out _)) found.Add((Here(), $"must be {Expected("DateTime")}."));
            return;
        }
        if (type.IsEnum || type.IsPrimitive) return;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            if (value.ValueKind != JsonValueKind.Object) { found.Add((Here(), "must be an object { ... }.")); return; }
            var valueType = type.GetGenericArguments()[1];
            foreach (var property in value.EnumerateObject()) Walk(property.Value, valueType, Join(path, property.Name), found, depth + 1);
            return;
        }
        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            if (value.ValueKind != JsonValueKind.Array) { found.Add((Here(), "must be a list [ ... ].")); return; }
            var itemType = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().FirstOrDefault() ?? typeof(object);
            var index = 0;
            foreach (var item in value.EnumerateArray()) Walk(item, itemType, $"{Here()}[{index++}]".TrimStart('$'), found, depth + 1);
            return;
        }
        if (value.ValueKind != JsonValueKind.Object) { found.Add((Here(), "must be an object { ... }.")); return; }
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || p.GetSetMethod(true) is not null || IsPositional(type, p))
            .ToDictionary(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var property in value.EnumerateObject())
            if (properties.TryGetValue(property.Name, out var target)) Walk(property.Value, target.PropertyType, Join(path, property.Name), found, depth + 1);
    }

    static bool IsPositional(Type type, PropertyInfo property) =>
        type.GetConstructors().Any(c => c.GetParameters().Any(p => string.Equals(p.Name, property.Name, StringComparison.OrdinalIgnoreCase)));

    static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    static string JsonPathToField(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
