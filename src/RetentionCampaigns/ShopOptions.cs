namespace RetentionCampaigns;

/// <summary>The shop's own settings (section <c>Shop</c>).</summary>
public sealed class ShopOptions
{
    public string Name { get; set; } = "Demo Shop";
    /// <summary>Monetary values are summed in this currency; orders in another currency are refused.</summary>
    public string Currency { get; set; } = "EUR";
    public string DefaultLocale { get; set; } = "de";
    /// <summary>Used for customers without a time zone and for CSV times without an offset.</summary>
    public string TimeZone { get; set; } = "Europe/Berlin";
    /// <summary>The From address of every email; its display name is <see cref="Name"/>.</summary>
    public string SenderEmail { get; set; } = "shop@example.com";
    /// <summary>Printed in every email's footer, as German and EU law require of commercial email.</summary>
    public string PostalAddress { get; set; } = "Musterstraße 1, 10115 Berlin, Deutschland";
    public string Website { get; set; } = "https://shop.example.com/";
    /// <summary>The shop's survey, linked from survey requests.</summary>
    public string SurveyUrl { get; set; } = "https://shop.example.com/survey";
}
