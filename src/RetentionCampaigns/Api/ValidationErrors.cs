using System.Globalization;
using System.Net.Mail;
using Microsoft.AspNetCore.Http.HttpResults;

namespace RetentionCampaigns.Api;

/// <summary>Collects field errors keyed by JSON path (e.g. <c>customers[3].email</c>) for an RFC 7807 answer.</summary>
public sealed class ValidationErrors
{
    readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool Any => errors.Count > 0;

    /// <summary>How many messages were added; compare before and after validating one item.</summary>
    public int Total { get; private set; }

    public void Add(string path, string message)
    {
        Total++;
        if (!errors.TryGetValue(path, out var list)) errors[path] = list = [];
        list.Add(message);
    }

    /// <summary>The messages about one field (a form shows them beside it).</summary>
    public IEnumerable<string> For(string path) => errors.TryGetValue(path, out var messages) ? messages : [];

    public IEnumerable<(string Path, string Message)> Messages => errors.SelectMany(e => e.Value.Select(m => (e.Key, m)));

    public void Clear()
    {
        errors.Clear();
        Total = 0;
    }

    public Dictionary<string, string[]> ToDictionary() => errors.ToDictionary(e => e.Key, e => e.Value.ToArray());

    public ValidationProblem ToProblem(string title = "The request has invalid fields.") =>
        TypedResults.ValidationProblem(ToDictionary(), title: title);

    public ProblemHttpResult ToProblem(int status, string title) =>
        TypedResults.Problem(title: title, statusCode: status,
            extensions: new Dictionary<string, object?> { ["errors"] = ToDictionary() });

    public string? Required(string path, string? value, int maxLength = 200)
    {
        if (string.IsNullOrWhiteSpace(value)) { Add(path, "is required."); return null; }
        return Optional(path, value, maxLength);
    }

    public string? Optional(string path, string? value, int maxLength = 200)
    {
        if (value is null) return null;
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength) Add(path, $"must be at most {maxLength} characters.");
        else if (trimmed.Any(char.IsControl)) Add(path, "must not contain control characters.");
        return trimmed.Length == 0 ? null : trimmed;
    }

    public void Range(string path, int? value, int min, int max)
    {
        if (value is { } v && (v < min || v > max)) Add(path, $"must be between {min} and {max}.");
    }
}

public static class FieldRules
{
    /// <summary>A single address with a dotted domain; international domain names are allowed.</summary>
    public static bool IsEmail(string value)
    {
        if (value.Length > 254 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) return false;
        var at = value.LastIndexOf('@');
        if (at < 1 || at > 64 || at == value.Length - 1) return false;
        var domain = value[(at + 1)..];
        if (!domain.Contains('.') || domain.StartsWith('.') || domain.EndsWith('.') || domain.Contains("..")) return false;
        try { new IdnMapping().GetAscii(domain); }
        catch (ArgumentException) { return false; }
        return MailAddress.TryCreate(value, out var parsed) && parsed.Address == value && parsed.DisplayName.Length == 0;
    }

    public static bool IsTimeZone(string value) => TimeZoneInfo.TryFindSystemTimeZoneById(value, out var zone) && !zone.Id.StartsWith("Etc/Unknown");

    /// <summary>Minor units with at most two decimals; null when the amount has more.</summary>
    public static long? ToMinorUnits(decimal amount)
    {
        var scaled = amount * 100m;
        return scaled == decimal.Truncate(scaled) && scaled <= long.MaxValue ? (long)scaled : null;
    }

    public static decimal FromMinorUnits(long minor) => minor / 100m;
}

public static class Problems
{
    /// <summary>409 with the field at fault in <c>errors</c>, like a validation problem.</summary>
    public static ProblemHttpResult Conflict(string field, string message) => OneField(409, "Conflict.", field, message);

    /// <summary>A problem with one field at fault, named in <c>errors</c> like a validation problem, and the message as its detail.</summary>
    public static ProblemHttpResult OneField(int status, string title, string field, string message) => TypedResults.Problem(title: title, detail: message,
        statusCode: status, extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });
}
