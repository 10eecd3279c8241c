using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace RetentionCampaigns.Api;

/// <summary>
/// Turns body-binding failures (malformed JSON, a wrong type in a field, a wrong content type) into
/// RFC 7807 answers naming the field, instead of a bare 400 or a 500.
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        var status = bad.StatusCode;
        var errors = new Dictionary<string, string[]>();
        string title;
        if (bad.InnerException is JsonException json)
        {
            var path = JsonPathToField(json.Path);
            errors[path] = [json.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? "has the wrong type or format." : "is not valid JSON here."];
            title = "The request body is not valid JSON for this endpoint.";
            status = StatusCodes.Status400BadRequest;
        }
        else title = bad.Message;

        context.Response.StatusCode = status;
        var details = new ProblemDetails { Status = status, Title = title, Detail = bad.InnerException?.Message };
        if (errors.Count > 0) details.Extensions["errors"] = errors;
        return await problems.TryWriteAsync(new() { HttpContext = context, ProblemDetails = details, Exception = exception });
    }

    static string JsonPathToField(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
}
