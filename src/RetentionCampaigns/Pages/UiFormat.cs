using System.Globalization;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Pages;

/// <summary>Numbers, money and times as the page's language writes them; times in the shop's time zone.</summary>
public sealed class UiFormat(IOptions<ShopOptions> shop)
{
    readonly TimeZoneInfo zone = TimeZoneInfo.FindSystemTimeZoneById(shop.Value.TimeZone);

    static LocaleFormat Locale => LocaleFormat.For(CultureInfo.CurrentUICulture.TwoLetterISOLanguageName);

    public string Currency => shop.Value.Currency;

    public string Money(long minor, string? currency = null) => Locale.Money(Templates.Money.FromMinor(minor, currency ?? shop.Value.Currency));

    public string Money(double? minor) => minor is { } m ? Money((long)Math.Round(m)) : "–";

    public string Number(double? value, int decimals = 0) => value is { } v ? v.ToString("N" + decimals, CultureInfo.CurrentCulture) : "–";

    public System.DateTime Local(System.DateTime utc) => TimeZoneInfo.ConvertTimeFromUtc(System.DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone);

    public string Month(System.DateTime month) => Locale.MonthYear(month);

    public string Date(System.DateTime? utc) => utc is { } at ? Locale.Date(Local(at), @short: true) : "–";

    public string DateTime(System.DateTime? utc) => utc is { } at ? $"{Locale.Date(Local(at), @short: true)} {Local(at):HH:mm}" : "–";

    /// <summary>For a datetime attribute: ISO 8601 with the offset, so machines and screen readers read it right.</summary>
    public static string Iso(System.DateTime utc) => System.DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
