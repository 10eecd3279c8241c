using System.Globalization;
using RetentionCampaigns.Api;
using RetentionCampaigns.Coupons;

namespace RetentionCampaigns.Templates;

/// <summary>
/// Everything a template may read, one instance per rendered message. Templates address it in snake_case
/// (<c>{{ customer.first_name }}</c>); <see cref="TemplateSchema"/> derives the paths the checker accepts from these types.
/// What is unknown is null, never empty text: Scriban counts empty text as true, so <c>{{ if customer.first_name }}</c>
/// needs null to mean "no first name".
/// </summary>
public sealed record TemplateModel
{
    public required CustomerView Customer { get; init; }
    public MetricsView Metrics { get; init; } = new();
    /// <summary>Null when the campaign gives no offer: <c>{{ if offer }}</c> guards the coupon block.</summary>
    public OfferView? Offer { get; init; }
    public required LinksView Links { get; init; }
    public CampaignView Campaign { get; init; } = new();
    public required SenderView Sender { get; init; }
    /// <summary>Why the customer gets this email, in their language (the footer shows it).</summary>
    public required string Reason { get; init; }
}

public sealed record CustomerView
{
    /// <summary>Null when unknown, so <c>{{ if customer.first_name }}</c> works; <see cref="Greeting"/> has the fallback.</summary>
    public string? FirstName { get; init; }
    public string? LastName { get; init; }
    /// <summary>"Hallo Anna," / "Guten Tag," or "Hi Anna," / "Hello,".</summary>
    public required string Greeting { get; init; }
    public required string Email { get; init; }
    public required string Locale { get; init; }
    public string? Country { get; init; }
    /// <summary>The shop's custom attributes as text under their own names, e.g. <c>{{ customer.attributes.loyaltyTier }}</c>; null when empty.</summary>
    public IReadOnlyDictionary<string, string?> Attributes { get; init; } = new Dictionary<string, string?>();
}

public sealed record MetricsView
{
    public int? RecencyDays { get; init; }
    public DateTime? LastOrderAt { get; init; }
    public int OrderCount { get; init; }
    public string? FavouriteCategory { get; init; }
    public string? RfmGroup { get; init; }
    public string NpsCategory { get; init; } = "unknown";
}

public sealed record OfferView
{
    public string CouponCode { get; init; } = "";
    /// <summary>A fixed discount; null for a percentage offer.</summary>
    public Money? Value { get; init; }
    public int? PercentOff { get; init; }
    public Money? MinimumOrder { get; init; }
    public DateTime? ExpiresAt { get; init; }

    public static OfferView For(Coupon coupon, string currency) => new()
    {
        CouponCode = coupon.Code,
        Value = coupon.ValueMinor is { } value ? new Money(FieldRules.FromMinorUnits(value), currency) : null,
        PercentOff = coupon.PercentOff,
        MinimumOrder = coupon.MinimumOrderMinor is { } minimum and > 0 ? new Money(FieldRules.FromMinorUnits(minimum), currency) : null,
        ExpiresAt = coupon.ExpiresAt,
    };
}

public sealed record LinksView
{
    public required string Unsubscribe { get; init; }
    public required string Preferences { get; init; }
    /// <summary>Null when the campaign needs none or the customer left the referral program.</summary>
    public string? Referral { get; init; }
    public required string Shop { get; init; }
    /// <summary>The shop's survey, for survey requests.</summary>
    public string? Survey { get; init; }
    /// <summary>The double opt-in confirmation link; null in every other email.</summary>
    public string? Confirm { get; init; }
}

public sealed record CampaignView
{
    public string Name { get; init; } = "";
    public string Key { get; init; } = "";
}

public sealed record SenderView
{
    public required string Name { get; init; }
    public required string Email { get; init; }
    /// <summary>The postal address the law asks for in every marketing email (one line, commas between parts).</summary>
    public required string PostalAddress { get; init; }
}

/// <summary>An amount of money; <c>{{ money x }}</c> formats it per locale.</summary>
public readonly record struct Money(decimal Amount, string Currency)
{
    public static Money FromMinor(long minor, string currency) => new(minor / 100m, currency);
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Amount:0.00} {Currency}");
}
