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
}
