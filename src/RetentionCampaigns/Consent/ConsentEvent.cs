namespace RetentionCampaigns.Consent;

/// <summary>Append-only: the current state of a purpose is its latest event.</summary>
public sealed class ConsentEvent
{
    public long Id { get; set; }
    public long CustomerId { get; set; }
    public required string Purpose { get; set; }
    public required string Status { get; set; }
    public required string LawfulBasis { get; set; }
    public bool Objection { get; set; }
    public required string Source { get; set; }
    public DateTime OccurredAt { get; set; }
    public string? IpAddress { get; set; }
    public string? UserAgent { get; set; }
    public string? ConsentTextVersion { get; set; }
    public DateTime RecordedAt { get; set; }
}

public static class ConsentVocabulary
{
    public static readonly string[] Purposes = ["email_marketing", "tracking", "referral_program"];
    public static readonly string[] Statuses = ["granted", "withdrawn"];
    public static readonly string[] LawfulBases = ["consent", "existing_customer"];
    public static readonly string[] Sources = ["form", "import", "api", "unsubscribe_link", "preference_page", "double_opt_in", "complaint", "erasure"];
}
