using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Segments;

/// <summary>What saving a segment came to: the segment, or the errors by field, or a conflict, or no such segment.</summary>
public sealed record SegmentSave(Segment? Segment, ValidationErrors Errors, (string Field, string Message)? Conflict = null, long? MissingId = null)
{
    public ProblemHttpResult? Problem() =>
        MissingId is { } id ? SegmentsApi.NotFound(id) :
        Conflict is { } c ? Problems.Conflict(c.Field, c.Message) :
        Errors.Any ? SegmentsApi.Invalid(Errors) : null;
}

/// <summary>Creating and changing segments, for the API and the UI alike: every change of the rule is a new version, with who made it.</summary>
public static class SegmentChanges
{
    public static async Task<SegmentSave> CreateAsync(RetentionDb db, SegmentInput input, string actor, DateTime now, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var name = errors.Required("name", input.Name, 100);
        var description = errors.Optional("description", input.Description, 1000);
        SegmentRule.Parse(input.Rule, "rule", errors);
        if (errors.Any) return new SegmentSave(null, errors);
        if (await NameTakenAsync(db, name!, null, ct)) return new SegmentSave(null, errors, ("name", $"a segment named '{name}' exists already."));

        var segment = new Segment { Name = name!, Description = description, Version = 1, Rule = input.Rule!.Value.GetRawText(), CreatedAt = now, UpdatedAt = now, UpdatedBy = actor };
        db.Segments.Add(segment);
        await db.SaveChangesAsync(ct);
        db.SegmentVersions.Add(new SegmentVersion { SegmentId = segment.Id, Version = 1, Rule = segment.Rule, CreatedAt = now, CreatedBy = actor });
        await db.SaveChangesAsync(ct);
        return new SegmentSave(segment, errors);
    }

    public static async Task<SegmentSave> UpdateAsync(RetentionDb db, long id, SegmentInput input, string actor, DateTime now, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var segment = await db.Segments.FirstOrDefaultAsync(s => s.Id == id, ct);
        if (segment is null) return new SegmentSave(null, errors, MissingId: id);
        if (segment.BuiltIn) return new SegmentSave(null, errors, ("id", "built-in segments are read-only; create a segment of your own from its rule."));
        var name = errors.Optional("name", input.Name, 100);
        var description = errors.Optional("description", input.Description, 1000);
        if (input.Rule is not null) SegmentRule.Parse(input.Rule, "rule", errors);
        if (errors.Any) return new SegmentSave(null, errors);
        if (name is not null && await NameTakenAsync(db, name, id, ct)) return new SegmentSave(null, errors, ("name", $"a segment named '{name}' exists already."));

        if (name is not null) segment.Name = name;
        if (input.Description is not null) segment.Description = description;
        var rule = input.Rule?.GetRawText();
        if (rule is not null && !JsonElement.DeepEquals(JsonDocument.Parse(rule).RootElement, JsonDocument.Parse(segment.Rule).RootElement))
        {
            segment.Rule = rule;
            segment.Version++;
            db.SegmentVersions.Add(new SegmentVersion { SegmentId = id, Version = segment.Version, Rule = rule, CreatedAt = now, CreatedBy = actor });
        }
        if (db.ChangeTracker.HasChanges()) (segment.UpdatedAt, segment.UpdatedBy) = (now, actor);
        await db.SaveChangesAsync(ct);
        return new SegmentSave(segment, errors);
    }

    static Task<bool> NameTakenAsync(RetentionDb db, string name, long? except, CancellationToken ct) =>
        db.Segments.AnyAsync(s => s.Name.ToLower() == name.ToLower() && s.Id != except, ct);
}
