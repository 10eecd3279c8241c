namespace RetentionCampaigns.ApiKeys;

public sealed class ApiKey
{
    public long Id { get; set; }
    public required string Name { get; set; }
    /// <summary>SHA-256 of the key; the key itself is shown once and never stored.</summary>
    public required string KeyHash { get; set; }
    public required string Prefix { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
}
