namespace RetentionCampaigns.Imports;

public sealed class ImportRun
{
    public long Id { get; set; }
    public required string Kind { get; set; }
    public string? FileName { get; set; }
    public required string Status { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime? FinishedAt { get; set; }
    public long RowsRead { get; set; }
    public long RowsAccepted { get; set; }
    public long RowsRejected { get; set; }
    public long RowsCreated { get; set; }
    public long RowsUpdated { get; set; }
    public long RowsUnchanged { get; set; }
    public string IgnoredColumns { get; set; } = "[]";
    /// <summary>The first rejected rows as JSON (line, column, reason); the counts cover all of them.</summary>
    public string Errors { get; set; } = "[]";
}
