using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

public sealed class LocaleFormatTests
{
    [Theory]
    [InlineData("de", 12.5, "EUR", "12,50 €")]
    [InlineData("en", 12.5, "EUR", "€12.50")]
    [InlineData("de", 1234567.891, "EUR", "1.234.567,89 €")]
    [InlineData("en", 1234567.891, "EUR", "€1,234,567.89")]
    [InlineData("en", 5, "CHF", "CHF 5.00")]
    [InlineData("de", 5, "USD", "5,00 $")]
    public void MoneyIsFormattedPerLanguage(string locale, double amount, string currency, string expected) =>
        Assert.Equal(expected, LocaleFormat.For(locale).Money(new Money((decimal)amount, currency)));

    [Fact]
    public void DatesArePerLanguageInLongAndShortForm()
    {
        var date = new DateTime(2026, 3, 7, 10, 0, 0, DateTimeKind.Utc);
        Assert.Equal("7. März 2026", LocaleFormat.German.Date(date));
        Assert.Equal("7 March 2026", LocaleFormat.English.Date(date));
        Assert.Equal("07.03.2026", LocaleFormat.German.Date(date, @short: true));
        Assert.Equal("07/03/2026", LocaleFormat.English.Date(date, @short: true));
    }

    [Fact]
    public void PluralsUseTheSingularForExactlyOne()
    {
        Assert.Equal("1 Bestellung", LocaleFormat.German.Plural(1, "Bestellung", "Bestellungen"));
        Assert.Equal("0 Bestellungen", LocaleFormat.German.Plural(0, "Bestellung", "Bestellungen"));
        Assert.Equal("1.500 Bestellungen", LocaleFormat.German.Plural(1500, "Bestellung", "Bestellungen"));
        Assert.Equal("2 orders", LocaleFormat.English.Plural(2, "order", "orders"));
    }

    [Fact]
    public void GreetingsFallBackWithoutAFirstName()
    {
        Assert.Equal("Hallo Anna,", LocaleFormat.German.Greeting(" Anna "));
        Assert.Equal("Guten Tag,", LocaleFormat.German.Greeting(null));
        Assert.Equal("Hi Emma,", LocaleFormat.English.Greeting("Emma"));
        Assert.Equal("Hello,", LocaleFormat.English.Greeting("  "));
    }

    [Fact]
    public void TheReasonNamesTheLawfulBasis()
    {
        Assert.Contains("eingekauft", LocaleFormat.German.Reason("Laden", "existing_customer"));
        Assert.Contains("zugestimmt", LocaleFormat.German.Reason("Laden", "consent"));
        Assert.Contains("object at any time", LocaleFormat.English.Reason("Shop", "existing_customer"));
    }
}
