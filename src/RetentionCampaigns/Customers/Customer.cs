using System.Text.Json;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Surveys;

namespace RetentionCampaigns.Customers;

public sealed class Customer
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public required string Email { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string Locale { get; set; } = "de";
    public string TimeZone { get; set; } = "Europe/Berlin";
    public string? Country { get; set; }
    public DateTime? SignedUpAt { get; set; }
    public List<string> Tags { get; set; } = [];
    public Dictionary<string, JsonElement> Attributes { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When the customer's personal data was erased (GDPR Art. 17); the row stays as an anonymous shell.</summary>
    public DateTime? ErasedAt { get; set; }

    public List<Order> Orders { get; set; } = [];
    public List<SurveyAnswer> SurveyAnswers { get; set; } = [];
    public List<ConsentEvent> ConsentEvents { get; set; } = [];
}
