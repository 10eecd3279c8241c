using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Imports;

public static class ImportsApi
{
    public static RouteGroupBuilder MapImports(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/imports").WithTags("Imports");
        group.MapPost("/{kind}", Upload)
            .WithSummary("Import a customers, orders or consents CSV: multipart field 'file', or the CSV as the request body (text/csv).")
            .DisableAntiforgery()
            .WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute());
        group.MapGet("/", List).WithSummary("The latest imports, newest first.");
        group.MapGet("/{id:long}", Get).WithSummary("One import report with its rejected rows.");
        return group;
    }

    static async Task<Results<Created<ImportReport>, ProblemHttpResult>> Upload(
        string kind, HttpRequest request, CsvImporter importer, CancellationToken ct)
    {
        if (!Enum.TryParse<ImportKind>(kind, ignoreCase: true, out var importKind) || int.TryParse(kind, out _))
            return Problem(404, "Unknown import kind.", "kind", "must be customers, orders or consents.");

        // Spooled to a temporary file first: the file is checked (encoding, header) before any row is written,
        // and memory stays flat whatever the upload's size.
        var temp = Path.GetTempFileName();
        try
        {
            string? fileName;
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(ct);
                if (form.Files.GetFile("file") is not { } file)
                    return Problem(400, "No file was uploaded.", "file", "is required (multipart/form-data field 'file').");
                fileName = file.FileName;
                await using var target = File.Create(temp);
                await file.CopyToAsync(target, ct);
            }
            else
            {
                fileName = null;
                await using var target = File.Create(temp);
                await request.Body.CopyToAsync(target, ct);
            }
            if (new FileInfo(temp).Length == 0) return Problem(400, "The upload is empty.", "file", "must contain a CSV header and rows.");

            var report = await importer.ImportAsync(importKind, temp, fileName, null, ct);
            var location = $"/api/imports/{report.Id}";
            if (report.Status == "completed") return TypedResults.Created(location, report);
            // The file as a whole was refused (encoding, header) or the import stopped: nothing of it is half-written.
            var error = report.Errors[^1];
            return TypedResults.Problem(title: "The file was not imported.", detail: error.Reason, statusCode: 422,
                extensions: new Dictionary<string, object?>
                {
                    ["errors"] = new Dictionary<string, string[]> { [error.Column ?? $"line {error.Line}"] = [$"line {error.Line}: {error.Reason}"] },
                    ["line"] = error.Line,
                    ["import"] = report,
                });
        }
        finally { File.Delete(temp); }
    }

    static async Task<List<ImportReport>> List(RetentionDb db, CancellationToken ct) =>
        (await db.ImportRuns.AsNoTracking().OrderByDescending(r => r.Id).Take(50).ToListAsync(ct)).Select(CsvImporter.AsReport).ToList();

    static async Task<Results<Ok<ImportReport>, ProblemHttpResult>> Get(long id, RetentionDb db, CancellationToken ct) =>
        await db.ImportRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, ct) is { } run
            ? TypedResults.Ok(CsvImporter.AsReport(run))
            : Problem(404, "Import not found.", "id", $"no import has the id {id}.");

    static ProblemHttpResult Problem(int status, string title, string field, string message) => TypedResults.Problem(
        title: title, statusCode: status, extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } });
}
