using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Campaigns;

/// <param name="Bounces">Reports from the bounce mailbox about this message (soft bounces are counted here).</param>
/// <param name="Bounce">The latest of them: its kind and what it said.</param>
public sealed record DeliveryRow(string CustomerId, string Status, string? Reason, bool HeldOut, string? MessageId, int Attempts,
    DateTime? NotBefore, DateTime UpdatedAt, int Bounces = 0, string? Bounce = null);
/// <param name="Next">The <c>after</c> value of the next page; null on the last.</param>
public sealed record DeliveryPage(List<DeliveryRow> Items, long? Next);
public sealed record ReasonCount(string Status, string? Reason, int Count);

/// <summary>
/// A run's recipients: every customer the run considered with what happened and why, in pages (keyset by the
/// customer's internal id), filtered by status and by words of the reason, and as CSV.
/// </summary>
public static class RunDeliveries
{
    public const int DefaultLimit = 100, MaxLimit = 1000;

    public sealed record Filter(string? Status, string? Reason);

    public static void MapRunDeliveries(this RouteGroupBuilder campaigns)
    {
        campaigns.MapGet("/{id:long}/runs/{runId:long}/deliveries", ListAsync)
            .WithSummary($"The run's recipients in pages ({DefaultLimit} by default, at most {MaxLimit}): status, reason, held out, message id and time; filter by status and by words of the reason.");
        campaigns.MapGet("/{id:long}/runs/{runId:long}/deliveries.csv", CsvAsync)
            .WithSummary("The run's recipients as CSV, with the same filters.");
    }

    /// <summary>Checks the filter; errors name the query parameter.</summary>
    public static Filter? Validate(string? status, string? reason, ValidationErrors errors)
    {
        if (status is not null && !DeliveryStatuses.All.Contains(status))
            errors.Add("status", $"must be one of: {string.Join(", ", DeliveryStatuses.All)}.");
        if (reason is { Length: > 200 }) errors.Add("reason", "must be at most 200 characters.");
        return errors.Any ? null : new Filter(status, string.IsNullOrWhiteSpace(reason) ? null : reason.Trim());
    }

    /// <summary>The filtered rows in customer order, from <paramref name="after"/> on; the key is the customer's internal id.</summary>
    static IQueryable<(long Key, DeliveryRow Row)> Query(RetentionDb db, long runId, Filter filter, long? after = null)
    {
        var deliveries = db.Deliveries.AsNoTracking().Where(d => d.RunId == runId);
        if (filter.Status is { } status) deliveries = deliveries.Where(d => d.Status == status);
        if (filter.Reason is { } words) deliveries = deliveries.Where(d => d.Reason != null && d.Reason.ToLower().Contains(words.ToLower()));
        if (after is { } last) deliveries = deliveries.Where(d => d.CustomerId > last);
        return from d in deliveries
               join c in db.Customers on d.CustomerId equals c.Id
               orderby d.CustomerId
               select new ValueTuple<long, DeliveryRow>(d.CustomerId, new DeliveryRow(c.ExternalId, d.Status, d.Reason, d.Status == DeliveryStatuses.HeldOut,
                   d.MessageId, d.Attempts, d.NotBefore, d.UpdatedAt));
    }

    public static async Task<DeliveryPage> PageAsync(RetentionDb db, long runId, Filter filter, long? after, int limit, CancellationToken ct)
    {
        var rows = await Query(db, runId, filter, after).Take(limit + 1).ToListAsync(ct);
        var page = rows.Take(limit).ToList();
        var keys = page.Select(r => (long?)r.Key).ToList();
        var bounces = await BouncesAsync(db, runId, db.Bounces.Where(b => b.RunId == runId && keys.Contains(b.CustomerId)), ct);
        return new DeliveryPage(page.Select(r => WithBounces(r.Key, r.Row, bounces)).ToList(), rows.Count > limit ? rows[limit - 1].Key : null);
    }

    /// <summary>Per customer: how many reports came back from the bounce mailbox, and the latest.</summary>
    static async Task<Dictionary<long, (int Count, string Latest)>> BouncesAsync(RetentionDb db, long runId, IQueryable<Bounces.Bounce> bounces, CancellationToken ct) =>
        (await bounces.OrderBy(b => b.Id).Select(b => new { b.CustomerId, b.Kind, b.Summary }).ToListAsync(ct))
        .GroupBy(b => b.CustomerId!.Value)
        .ToDictionary(g => g.Key, g => (g.Count(), $"{g.Last().Kind}: {g.Last().Summary}"));

    static DeliveryRow WithBounces(long key, DeliveryRow row, Dictionary<long, (int Count, string Latest)> bounces) =>
        bounces.TryGetValue(key, out var b) ? row with { Bounces = b.Count, Bounce = b.Latest } : row;

    /// <summary>Counts per status and reason, most frequent first.</summary>
    public static async Task<List<ReasonCount>> ReasonsAsync(RetentionDb db, long runId, CancellationToken ct) =>
        (await db.Deliveries.Where(d => d.RunId == runId).GroupBy(d => new { d.Status, d.Reason })
            .Select(g => new { g.Key.Status, g.Key.Reason, Count = g.Count() }).ToListAsync(ct))
        .Select(g => new ReasonCount(g.Status, g.Reason, g.Count))
        .OrderByDescending(r => r.Count).ThenBy(r => r.Status, StringComparer.Ordinal).ThenBy(r => r.Reason, StringComparer.Ordinal).ToList();

    static async Task<Results<Ok<DeliveryPage>, ValidationProblem, ProblemHttpResult>> ListAsync(long id, long runId, string? status, string? reason,
        long? after, int? limit, RetentionDb db, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var filter = Validate(status, reason, errors);
        errors.Range("limit", limit, 1, MaxLimit);
        if (errors.Any) return errors.ToProblem();
        if (await RunProblemAsync(db, id, runId, ct) is { } problem) return problem;
        return TypedResults.Ok(await PageAsync(db, runId, filter!, after, limit ?? DefaultLimit, ct));
    }

    static async Task<IResult> CsvAsync(long id, long runId, string? status, string? reason, HttpContext http, RetentionDb db, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var filter = Validate(status, reason, errors);
        if (errors.Any) return errors.ToProblem();
        if (await RunProblemAsync(db, id, runId, ct) is { } problem) return problem;
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"campaign-{id}-run-{runId}-deliveries.csv\"";
        await using var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false));
        await writer.WriteAsync("customer_id,status,reason,held_out,message_id,attempts,not_before,updated_at,bounces,last_bounce\r\n");
        // A run's bounces are few beside its deliveries: read once, not per row.
        var bounces = await BouncesAsync(db, runId, db.Bounces.Where(b => b.RunId == runId && b.CustomerId != null), ct);
        await foreach (var (key, listed) in Query(db, runId, filter!).AsAsyncEnumerable().WithCancellation(ct))
        {
            var row = WithBounces(key, listed, bounces);
            await writer.WriteAsync(string.Join(',', Csv(row.CustomerId), row.Status, Csv(row.Reason), row.HeldOut ? "true" : "false", Csv(row.MessageId),
                row.Attempts.ToString(CultureInfo.InvariantCulture), Time(row.NotBefore), Time(row.UpdatedAt),
                row.Bounces.ToString(CultureInfo.InvariantCulture), Csv(row.Bounce)) + "\r\n");
        }
        return Results.Empty;
    }

    static string Time(DateTime? at) => at?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "";

    // RFC 4180 quoting; a leading formula character is neutralised so a spreadsheet shows the text instead of running it.
    static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value[0] is '=' or '+' or '-' or '@') value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }

    static async Task<ProblemHttpResult?> RunProblemAsync(RetentionDb db, long id, long runId, CancellationToken ct) =>
        await db.CampaignRuns.AnyAsync(r => r.Id == runId && r.CampaignId == id, ct) ? null : CampaignsApi.RunNotFound(id, runId);
}
