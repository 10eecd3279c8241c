using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Segments;

public sealed record SegmentInput(string? Name, string? Description, JsonElement? Rule);
public sealed record PreviewInput(JsonElement? Rule, DateTimeOffset? Now);

public sealed record SegmentItem(long Id, string Name, string? Description, bool BuiltIn, int Version, JsonElement Rule, DateTime CreatedAt, DateTime UpdatedAt);
public sealed record SegmentMember(string ExternalId, string Email, string? FirstName, string? LastName, string? RfmGroup, string NpsCategory, int? RecencyDays);
public sealed record SegmentPreview(long Count, List<SegmentMember> First, DateTime EvaluatedAt);
public sealed record SegmentExplanation(string CustomerId, int Version, bool Member, bool ObjectedToMarketing, List<SegmentEvaluator.ConditionResult> Conditions);

public static class SegmentsApi
{
    public const int PreviewSize = 50;

    public static RouteGroupBuilder MapSegments(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/segments").WithTags("Segments");
        group.MapGet("/", List).WithSummary("All segments, built-in ones first.");
        group.MapPost("/", Create).WithSummary("Create a segment from a rule tree.");
        group.MapPost("/preview", PreviewRule).WithSummary("Count and the first 50 members of an unsaved rule.");
        group.MapGet("/{id:long}", Get).WithSummary("A segment with its current rule.");
        group.MapPut("/{id:long}", Update).WithSummary("Change a segment; every change of the rule is a new version.");
        group.MapDelete("/{id:long}", Delete).WithSummary("Delete a segment (built-in segments cannot be deleted).");
        group.MapGet("/{id:long}/versions/{version:int}", GetVersion).WithSummary("The rule of one version.");
        group.MapGet("/{id:long}/preview", Preview).WithSummary("Count and the first 50 members.");
        group.MapGet("/{id:long}/explain/{customerId}", Explain).WithSummary("For one customer: each condition, the customer's value, and whether it held.");
        return group;
    }

    static async Task<List<SegmentItem>> List(RetentionDb db, CancellationToken ct) =>
        (await db.Segments.AsNoTracking().OrderByDescending(s => s.BuiltIn).ThenBy(s => s.Name).ToListAsync(ct)).Select(AsItem).ToList();

    /// <summary>A rule that is well-formed JSON but means nothing (an unknown field, a misspelt value) is 422; other fields' errors 400.</summary>
    internal static ProblemHttpResult Invalid(ValidationErrors errors) =>
        errors.Messages.Any(m => m.Path.StartsWith("rule", StringComparison.Ordinal))
            ? errors.ToProblem(422, "The segment's rule is not valid.")
            : errors.ToProblem(400, "The request has invalid fields.");

    static async Task<Results<Ok<SegmentItem>, ProblemHttpResult>> Get(long id, RetentionDb db, CancellationToken ct) =>
        await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct) is { } segment ? TypedResults.Ok(AsItem(segment)) : NotFound(id);

    static async Task<Results<Ok<SegmentVersion>, ProblemHttpResult>> GetVersion(long id, int version, RetentionDb db, CancellationToken ct) =>
        await db.SegmentVersions.AsNoTracking().FirstOrDefaultAsync(v => v.SegmentId == id && v.Version == version, ct) is { } found
            ? TypedResults.Ok(found)
            : TypedResults.Problem(title: "Version not found.", detail: $"Segment {id} has no version {version}.", statusCode: 404);

    static async Task<Results<Created<SegmentItem>, ProblemHttpResult>> Create(
        SegmentInput input, HttpContext http, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var saved = await SegmentChanges.CreateAsync(db, input, Actors.Of(http.User), clock.GetUtcNow().UtcDateTime, ct);
        if (saved.Problem() is { } problem) return problem;
        return TypedResults.Created($"/api/segments/{saved.Segment!.Id}", AsItem(saved.Segment));
    }

    static async Task<Results<Ok<SegmentItem>, ProblemHttpResult>> Update(
        long id, SegmentInput input, HttpContext http, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var saved = await SegmentChanges.UpdateAsync(db, id, input, Actors.Of(http.User), clock.GetUtcNow().UtcDateTime, ct);
        if (saved.Problem() is { } problem) return problem;
        return TypedResults.Ok(AsItem(saved.Segment!));
    }

    static async Task<Results<NoContent, ProblemHttpResult>> Delete(long id, RetentionDb db, CancellationToken ct)
    {
        var segment = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (segment is null) return NotFound(id);
        if (segment.BuiltIn) return Problems.Conflict("id", "built-in segments cannot be deleted.");
        var usedBy = await db.Campaigns.Where(c => c.SegmentId == id).Select(c => c.Name).OrderBy(n => n).Take(5).ToListAsync(ct);
        if (usedBy.Count > 0) return Problems.Conflict("id", $"the segment is used by campaign(s) {string.Join(", ", usedBy.Select(n => $"'{n}'"))}; it cannot be deleted.");
        try
        {
            await db.Segments.Where(s => s.Id == id).ExecuteDeleteAsync(ct);
        }
        catch (System.Data.Common.DbException)
        {
            // A campaign took the segment up between the check and the delete; the foreign key refused it.
            return Problems.Conflict("id", "the segment is used by a campaign; it cannot be deleted.");
        }
        return TypedResults.NoContent();
    }

    static async Task<Results<Ok<SegmentPreview>, ValidationProblem, ProblemHttpResult>> PreviewRule(PreviewInput input, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var rule = SegmentRule.Parse(input.Rule, "rule", errors);
        if (rule is null) return Invalid(errors);
        return TypedResults.Ok(await PreviewAsync(db, rule, input.Now?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime, ct));
    }

    static async Task<Results<Ok<SegmentPreview>, ProblemHttpResult>> Preview(long id, DateTimeOffset? now, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var segment = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (segment is null) return NotFound(id);
        return TypedResults.Ok(await PreviewAsync(db, Stored(segment), now?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime, ct));
    }

    static async Task<Results<Ok<SegmentExplanation>, ProblemHttpResult>> Explain(
        long id, string customerId, DateTimeOffset? now, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var segment = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (segment is null) return NotFound(id);
        var at = now?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime;
        return await ExplainAsync(db, Stored(segment), segment.Version, customerId, at, ct) is { } explanation
            ? TypedResults.Ok(explanation)
            : CustomersApi.NotFound(customerId);
    }

    /// <summary>Each condition for one customer with the customer's value and whether it held; null when there is no such customer.</summary>
    public static async Task<SegmentExplanation?> ExplainAsync(RetentionDb db, RuleNode rule, int version, string customerId, DateTime at, CancellationToken ct)
    {
        var facts = (await SegmentQuery.LoadFactsAsync(db, customerId, ct, rule)).SingleOrDefault();
        if (facts is null) return null;
        var trace = new List<SegmentEvaluator.ConditionResult>();
        var held = SegmentEvaluator.Evaluate(rule, facts, at, trace);
        return new SegmentExplanation(customerId, version, held && !facts.Objected, facts.Objected, trace);
    }

    /// <summary>How many customers the rule selects now.</summary>
    public static async Task<long> CountAsync(RetentionDb db, RuleNode rule, DateTime now, CancellationToken ct)
    {
        var query = new SegmentQuery(rule, db.IsPostgres, now);
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var counting = query.Command(db.Database.GetDbConnection(), "COUNT(*)");
            return Convert.ToInt64(await counting.ExecuteScalarAsync(ct));
        }
        finally { await db.Database.CloseConnectionAsync(); }
    }

    public static async Task<SegmentPreview> PreviewAsync(RetentionDb db, RuleNode rule, DateTime now, CancellationToken ct, int first = PreviewSize)
    {
        var query = new SegmentQuery(rule, db.IsPostgres, now);
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            var count = await CountAsync(db, rule, now, ct);
            var members = new List<SegmentMember>();
            await using (var listing = query.Command(connection,
                "c.external_id, c.email, c.first_name, c.last_name, m.rfm_group, COALESCE(m.nps_category, 'unknown'), m.recency_days",
                $"ORDER BY c.external_id LIMIT {first}"))
            await using (var reader = await listing.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct))
                    members.Add(new SegmentMember(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                        reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetString(5),
                        reader.IsDBNull(6) ? null : Convert.ToInt32(reader.GetValue(6))));
            return new SegmentPreview(count, members, now);
        }
        finally { await db.Database.CloseConnectionAsync(); }
    }

    /// <summary>A stored rule was validated when it was saved; a failure here is a bug, not bad input.</summary>
    public static RuleNode Stored(Segment segment)
    {
        var errors = new ValidationErrors();
        using var json = JsonDocument.Parse(segment.Rule);
        return SegmentRule.Parse(json.RootElement.Clone(), "rule", errors)
               ?? throw new InvalidOperationException($"Stored rule of segment {segment.Id} is invalid: {string.Join("; ", errors.Messages)}");
    }

    static SegmentItem AsItem(Segment s) => new(s.Id, s.Name, s.Description, s.BuiltIn, s.Version, JsonDocument.Parse(s.Rule).RootElement.Clone(), s.CreatedAt, s.UpdatedAt);

    internal static ProblemHttpResult NotFound(long id) => TypedResults.Problem(title: "Segment not found.", detail: $"No segment has the id {id}.", statusCode: 404);

}
