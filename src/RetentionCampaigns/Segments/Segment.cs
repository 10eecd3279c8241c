using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;

namespace RetentionCampaigns.Segments;

public sealed class Segment
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public bool BuiltIn { get; set; }
    public int Version { get; set; }
    /// <summary>The rule tree as JSON; parsed and validated on every save and use.</summary>
    public required string Rule { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>Who made the last change: a user's e-mail or "api key NAME" (null before migration 0020).</summary>
    public string? UpdatedBy { get; set; }
}

public sealed class SegmentVersion
{
    public long SegmentId { get; set; }
    public int Version { get; set; }
    public required string Rule { get; set; }
    public DateTime CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
}

/// <summary>The segments every shop starts with; read-only, kept in step with this code at start-up.</summary>
public static class BuiltInSegments
{
    static string Condition(string field, string op, object value) => JsonSerializer.Serialize(new { field, op, value });

    public static IReadOnlyList<(string Name, string Description, string Rule)> All { get; } =
    [
        .. RfmGroups.All.Select(group => (group, $"RFM group {group}.", Condition("rfm_group", "=", group))),
        ("Promoters", "Latest NPS answer 9-10 within the survey window.", Condition("nps_category", "=", "promoter")),
        ("Passives", "Latest NPS answer 7-8 within the survey window.", Condition("nps_category", "=", "passive")),
        ("Detractors", "Latest NPS answer 0-6 within the survey window.", Condition("nps_category", "=", "detractor")),
        ("Lapsed high value", "No order for 90 days or more, M score 4-5.",
            $$"""{"all": [{{Condition("recency_days", ">=", 90)}}, {{Condition("m_score", "between", new[] { 4, 5 })}}]}"""),
        ("At-risk detractors", "At risk or Can't lose them, and a detractor.",
            $$"""{"all": [{{Condition("rfm_group", "in", new[] { RfmGroups.AtRisk, RfmGroups.CantLoseThem })}}, {{Condition("nps_category", "=", "detractor")}}]}"""),
    ];

    public static async Task EnsureAsync(RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var stored = await db.Segments.Where(s => s.BuiltIn).ToDictionaryAsync(s => s.Name, ct);
        foreach (var (name, description, rule) in All)
        {
            if (stored.TryGetValue(name, out var segment))
            {
                if (segment.Rule == rule && segment.Description == description) continue;
                (segment.Rule, segment.Description, segment.UpdatedAt) = (rule, description, now);
                segment.Version++;
            }
            else db.Segments.Add(segment = new Segment { Name = name, Description = description, BuiltIn = true, Version = 1, Rule = rule, CreatedAt = now, UpdatedAt = now });
            try
            {
                await db.SaveChangesAsync(ct);
                db.SegmentVersions.Add(new SegmentVersion { SegmentId = segment.Id, Version = segment.Version, Rule = rule, CreatedAt = now });
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                db.ChangeTracker.Clear(); // another node starting at the same moment wrote it
            }
        }
    }
}
