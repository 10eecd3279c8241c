using System.Text;

namespace RetentionCampaigns.Imports;

public enum ImportKind { Customers, Orders, Consents }

public sealed record ImportProgress(long BytesRead, long RowsRead);

/// <summary>A rejected row: the 1-based line of the file, the column (header name) and why.</summary>
public sealed record ImportError(long Line, string? Column, string Reason);

public sealed record ImportReport(
    long Id, string Kind, string? FileName, string Status, DateTime StartedAt, DateTime? FinishedAt,
    long RowsRead, long RowsAccepted, long RowsRejected, long Created, long Updated, long Unchanged,
    List<string> IgnoredColumns, List<ImportError> Errors, bool ErrorsTruncated)
{
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"Import {Id} ({Kind}, {FileName}): {Status}.");
        text.AppendLine($"  rows read {RowsRead}, accepted {RowsAccepted}, rejected {RowsRejected}; " +
                        $"{Kind} created {Created}, updated {Updated}, unchanged {Unchanged}.");
        if (FinishedAt is { } end) text.AppendLine($"  took {(end - StartedAt).TotalSeconds:F1} s.");
        if (IgnoredColumns.Count > 0) text.AppendLine($"  ignored columns: {string.Join(", ", IgnoredColumns)}");
        foreach (var e in Errors.Take(20)) text.AppendLine($"  line {e.Line}{(e.Column is null ? "" : $", column {e.Column}")}: {e.Reason}");
        if (Errors.Count > 20 || ErrorsTruncated) text.AppendLine($"  ... {RowsRejected} rejected rows in all (see the import report in the API).");
        return text.ToString().TrimEnd();
    }
}
