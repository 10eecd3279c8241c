using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Pages.Segments;

/// <summary>
/// Every segment with who changed it when, built-in ones first, and its member count now. The counts arrive one by
/// one after the list (each is a query over all customers); without JavaScript ?counts=true puts them in the page.
/// </summary>
public sealed class IndexModel(RetentionDb db, TimeProvider clock, UiFormat format) : PageModel
{
    public List<Segment> Segments { get; private set; } = [];
    public Dictionary<long, long> Counts { get; } = [];
    [BindProperty(SupportsGet = true, Name = "counts")] public bool WithCounts { get; set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        Segments = await db.Segments.AsNoTracking().OrderByDescending(s => s.BuiltIn).ThenBy(s => s.Name).ToListAsync(ct);
        if (!WithCounts) return;
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var segment in Segments) Counts[segment.Id] = await SegmentsApi.CountAsync(db, SegmentsApi.Stored(segment), now, ct);
    }

    public async Task<IActionResult> OnGetCountAsync(long id, CancellationToken ct)
    {
        if (await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct) is not { } segment) return NotFound();
        var count = await SegmentsApi.CountAsync(db, SegmentsApi.Stored(segment), clock.GetUtcNow().UtcDateTime, ct);
        return Content(format.Number(count), "text/plain; charset=utf-8");
    }
}
