using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;

namespace RetentionCampaigns.Pages.Imports;

/// <summary>One import: its progress while it runs (the page asks again every second), then the report with the rejected rows.</summary>
public sealed class ReportModel(RetentionDb db, ImportJobs jobs) : PageModel
{
    public ImportReport Report { get; private set; } = null!;
    public ImportStanding? Standing { get; private set; }
    public bool Running => Report.Status == "running";

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken ct)
    {
        if (await db.ImportRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, ct) is not { } run) return NotFound();
        Report = CsvImporter.AsReport(run);
        Standing = Running ? jobs.Standing(id) : null;
        return Page();
    }
}
