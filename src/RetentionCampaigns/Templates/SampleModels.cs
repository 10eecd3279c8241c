namespace RetentionCampaigns.Templates;

/// <summary>
/// A made-up customer with every field filled, for previews without a real customer and for the lint at save.
/// The addresses use the reserved example.com domain (RFC 2606).
/// </summary>
public static class SampleModels
{
    public const string SampleUnsubscribe = "https://shop.example.com/u/sample-unsubscribe-token";

    static readonly TemplateModel German = Build("de", "Anna", "Schuhe");
    static readonly TemplateModel English = Build("en", "Emma", "Shoes");

    public static TemplateModel For(string locale) => locale == "en" ? English : German;

    static TemplateModel Build(string locale, string firstName, string category)
    {
        var format = LocaleFormat.For(locale);
        const string shop = "Beispiel-Shop";
        return new TemplateModel
        {
            Customer = new CustomerView
            {
                FirstName = firstName,
                LastName = "Beispiel",
                Greeting = format.Greeting(firstName),
                Email = $"{firstName.ToLowerInvariant()}@example.com",
                Locale = locale,
                Country = locale == "de" ? "DE" : "GB",
                Attributes = new Dictionary<string, string?> { ["loyaltyTier"] = "gold" },
            },
            Metrics = new MetricsView
            {
                RecencyDays = 142,
                LastOrderAt = new DateTime(2026, 3, 12, 9, 30, 0, DateTimeKind.Utc),
                OrderCount = 7,
                FavouriteCategory = category,
                RfmGroup = "At risk",
                NpsCategory = "passive",
            },
            Offer = new OfferView
            {
                CouponCode = "WELCOME-BACK-7Q2F",
                Value = new Money(12.50m, "EUR"),
                MinimumOrder = new Money(50m, "EUR"),
                ExpiresAt = new DateTime(2026, 12, 31, 22, 59, 59, DateTimeKind.Utc),
            },
            Links = new LinksView
            {
                Unsubscribe = SampleUnsubscribe,
                Preferences = "https://shop.example.com/p/sample-preferences-token",
                Referral = "https://shop.example.com/r/SAMPLE7Q2F",
                Shop = "https://shop.example.com/",
                Survey = "https://shop.example.com/survey",
                Confirm = "https://shop.example.com/confirm/sample-confirm-token",
            },
            Campaign = new CampaignView { Name = "Sample campaign", Key = "sample" },
            Sender = new SenderView { Name = shop, Email = "service@example.com", PostalAddress = "Beispielstraße 1, 10115 Berlin, Deutschland" },
            Reason = format.Reason(shop, "consent"),
        };
    }
}
