using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Pages.Segments;

public sealed record SegmentRow(Segment Segment, long Members);

/// <summary>Every segment with its member count now and who changed it when; built-in ones first.</summary>
public sealed class IndexModel(RetentionDb db, TimeProvider clock) : PageModel
{
    public List<SegmentRow> Rows { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var segments = await db.Segments.AsNoTracking().OrderByDescending(s => s.BuiltIn).ThenBy(s => s.Name).ToListAsync(ct);
        foreach (var segment in segments)
            Rows.Add(new SegmentRow(segment, await SegmentsApi.CountAsync(db, SegmentsApi.Stored(segment), now, ct)));
    }
}
