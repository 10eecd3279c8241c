using System.Globalization;

namespace RetentionCampaigns.Templates;

/// <summary>
/// Dates, money, plurals and fixed phrases for the two languages we write in. Number formats are spelled out
/// here rather than taken from ICU cultures, so output is the same on every machine (and in invariant mode).
/// </summary>
public sealed class LocaleFormat
{
    public static readonly string[] Supported = ["de", "en"];
    public static readonly LocaleFormat German = new("de"), English = new("en");

    public static LocaleFormat For(string locale) => locale == "en" ? English : German;
    public static bool IsSupported(string? locale) => locale is "de" or "en";

    static readonly string[] GermanMonths =
        ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];
    static readonly string[] EnglishMonths =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    readonly NumberFormatInfo numbers;

    LocaleFormat(string locale)
    {
        Locale = locale;
        numbers = new NumberFormatInfo
        {
            NumberDecimalSeparator = locale == "de" ? "," : ".",
            NumberGroupSeparator = locale == "de" ? "." : ",",
        };
    }

    public string Locale { get; }
    bool IsGerman => Locale == "de";

    /// <summary>"12,50 €" in German, "€12.50" in English; whole amounts keep their cents, as shops print them.</summary>
    public string Money(Money money)
    {
        var amount = money.Amount.ToString("N2", numbers);
        var symbol = CurrencySymbol(money.Currency);
        if (IsGerman) return $"{amount} {symbol}";
        return symbol.Length == 1 ? $"{symbol}{amount}" : $"{symbol} {amount}";
    }

    static string CurrencySymbol(string currency) => currency switch
    {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        _ => currency,
    };

    /// <summary>"12. März 2026" / "12 March 2026"; "short": "12.03.2026" / "12/03/2026".</summary>
    public string Date(DateTime value, bool @short = false)
    {
        if (@short) return value.ToString(IsGerman ? "dd'.'MM'.'yyyy" : "dd'/'MM'/'yyyy", CultureInfo.InvariantCulture);
        var month = (IsGerman ? GermanMonths : EnglishMonths)[value.Month - 1];
        return IsGerman ? $"{value.Day}. {month} {value.Year}" : $"{value.Day} {month} {value.Year}";
    }

    /// <summary>"März 2026" / "March 2026".</summary>
    public string MonthYear(DateTime value) => $"{(IsGerman ? GermanMonths : EnglishMonths)[value.Month - 1]} {value.Year}";

    /// <summary>"1 Bestellung", "3 Bestellungen": both languages use the singular for exactly one.</summary>
    public string Plural(decimal count, string one, string other) =>
        $"{count.ToString("#,##0.##", numbers)} {(count == 1 ? one : other)}";

    public string Greeting(string? firstName) => string.IsNullOrWhiteSpace(firstName)
        ? (IsGerman ? "Guten Tag," : "Hello,")
        : (IsGerman ? $"Hallo {firstName.Trim()}," : $"Hi {firstName.Trim()},");

    /// <summary>Why this customer gets marketing email: their consent, or the existing-customer exception (UWG §7(3)).</summary>
    public string Reason(string shopName, string? lawfulBasis) => (IsGerman, lawfulBasis) switch
    {
        (true, "existing_customer") => $"Sie erhalten diese E-Mail, weil Sie bei {shopName} eingekauft haben und wir Sie über ähnliche Produkte informieren dürfen. Sie können dem jederzeit widersprechen, ohne dass dafür andere als die Übermittlungskosten nach den Basistarifen entstehen.",
        (true, _) => $"Sie erhalten diese E-Mail, weil Sie dem Empfang von Neuigkeiten von {shopName} zugestimmt haben.",
        (false, "existing_customer") => $"You are receiving this email because you bought from {shopName} and we may tell you about similar products. You can object at any time.",
        (false, _) => $"You are receiving this email because you agreed to receive news from {shopName}.",
    };
}
