namespace RetentionCampaigns.Surveys;

/// <summary>One survey response; each score is optional because a survey may ask only some questions.</summary>
public sealed class SurveyAnswer
{
    public long Id { get; set; }
    public long CustomerId { get; set; }
    public DateTime AnsweredAt { get; set; }
    public int? Nps { get; set; }
    public int? Csat { get; set; }
    public int? Ces { get; set; }
    public int? BuyAgain { get; set; }
    public int? TryNewProducts { get; set; }
    public int? Recommend { get; set; }
    public string? Comment { get; set; }
    public DateTime CreatedAt { get; set; }
}
