using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Imports;

/// <summary>Upload a customers, orders or consents CSV (it runs in the background, its page shows progress) and the history of imports.</summary>
[RequestFormLimits(MultipartBodyLengthLimit = long.MaxValue)]
[DisableRequestSizeLimit]
public sealed class IndexModel(RetentionDb db, ImportJobs jobs) : PageModel
{
    public List<ImportRun> History { get; private set; } = [];
    [BindProperty] public string? Kind { get; set; }
    public ValidationErrors Errors { get; } = new();

    public bool CanImport => UserRoles.MayChange(User);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostAsync(IFormFile? file, CancellationToken ct)
    {
        if (!CanImport) return Forbid();
        if (!Enum.TryParse<ImportKind>(Kind, ignoreCase: true, out var kind) || int.TryParse(Kind, out _))
            Errors.Add("kind", "Choose what the file holds: customers, orders or consents.");
        if (file is null || file.Length == 0)
            Errors.Add("file", file is null ? "Choose a CSV file to import." : "The file is empty: a header row and rows are expected.");
        if (Errors.Any)
        {
            await LoadAsync(ct);
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        // Spooled to a temporary file: the import checks the whole file (encoding, header) before it writes a row.
        var spooled = Path.GetTempFileName();
        await using (var target = System.IO.File.Create(spooled))
            await file!.CopyToAsync(target, ct);
        var id = await jobs.StartAsync(kind, spooled, Path.GetFileName(file.FileName));
        return Redirect($"/imports/{id}");
    }

    async Task LoadAsync(CancellationToken ct) =>
        History = await db.ImportRuns.AsNoTracking().OrderByDescending(r => r.Id).Take(50).ToListAsync(ct);
}
