using System.Text.Json;
using RetentionCampaigns.Api;

namespace RetentionCampaigns.Customers;

/// <summary>
/// A customer as the shop sends it. Every field is optional in the type so that a missing one is reported by
/// name; on an update, fields left out keep their stored value.
/// </summary>
public sealed record CustomerInput(
    string? ExternalId, string? Email, string? FirstName, string? LastName, string? Locale, string? TimeZone,
    string? Country, DateTimeOffset? SignedUpAt, List<string>? Tags, Dictionary<string, JsonElement>? Attributes);

public sealed record CustomerBatch(List<CustomerInput>? Customers);

/// <summary>A customer input that passed validation, normalised.</summary>
public sealed record ValidCustomer(
    string ExternalId, string Email, string? FirstName, string? LastName, string? Locale, string? TimeZone,
    string? Country, DateTime? SignedUpAt, List<string>? Tags, Dictionary<string, JsonElement>? Attributes)
{
    static readonly HashSet<string> GermanSpeaking = ["DE", "AT", "CH", "LI", "LU"];

    public static ValidCustomer? Validate(CustomerInput input, string path, ValidationErrors errors)
    {
        var before = errors.Total;
        var externalId = errors.Required(path + "externalId", input.ExternalId, 100);
        if (externalId is not null && externalId.StartsWith(Privacy.CustomerErasure.ErasedIdPrefix, StringComparison.Ordinal))
            errors.Add(path + "externalId", $"must not start with '{Privacy.CustomerErasure.ErasedIdPrefix}': such ids name erased customers.");
        var email = errors.Required(path + "email", input.Email, 254);
        if (email is not null && !FieldRules.IsEmail(email)) errors.Add(path + "email", "is not a valid email address.");
        var firstName = errors.Optional(path + "firstName", input.FirstName, 100);
        var lastName = errors.Optional(path + "lastName", input.LastName, 100);
        var locale = NormaliseLocale(errors.Optional(path + "locale", input.Locale, 10), path + "locale", errors);
        var timeZone = errors.Optional(path + "timeZone", input.TimeZone, 64);
        if (timeZone is not null && !FieldRules.IsTimeZone(timeZone))
            errors.Add(path + "timeZone", "must be an IANA time zone such as Europe/Berlin.");
        var country = errors.Optional(path + "country", input.Country, 2)?.ToUpperInvariant();
        if (country is not null && (country.Length != 2 || !country.All(char.IsAsciiLetterUpper)))
            errors.Add(path + "country", "must be an ISO 3166-1 alpha-2 code such as DE.");
        if (input.Tags is { } tags)
        {
            if (tags.Count > 100) errors.Add(path + "tags", "must hold at most 100 tags.");
            for (var i = 0; i < tags.Count; i++) errors.Required($"{path}tags[{i}]", tags[i], 100);
        }
        if (input.Attributes is { } attributes)
        {
            if (attributes.Count > 100) errors.Add(path + "attributes", "must hold at most 100 attributes.");
            foreach (var (key, value) in attributes)
            {
                if (key.Length is 0 or > 64) errors.Add(path + "attributes", $"attribute names must be 1-64 characters ('{key}').");
                if (value.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                    errors.Add($"{path}attributes.{key}", "must be a string, number, boolean or null.");
                else if (value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 1000)
                    errors.Add($"{path}attributes.{key}", "must be at most 1000 characters.");
            }
        }
        if (errors.Total != before) return null;

        locale ??= country is null ? null : GermanSpeaking.Contains(country) ? "de" : "en";
        return new ValidCustomer(externalId!, email!, firstName, lastName, locale, timeZone, country,
            input.SignedUpAt?.UtcDateTime, input.Tags?.Select(t => t.Trim()).Distinct().ToList(),
            input.Attributes?.ToDictionary(a => a.Key, a => a.Value.Clone()));
    }

    static string? NormaliseLocale(string? locale, string path, ValidationErrors errors)
    {
        if (locale is null) return null;
        var language = locale.Split('-', '_')[0].ToLowerInvariant();
        if (language is "de" or "en") return language;
        errors.Add(path, "must be de or en (a region such as de-AT is accepted).");
        return null;
    }

    /// <summary>Copies the supplied fields onto the entity; fields left out stay as they are.</summary>
    public void ApplyTo(Customer customer, string defaultLocale, string defaultTimeZone)
    {
        customer.Email = Email;
        if (FirstName is not null) customer.FirstName = FirstName;
        if (LastName is not null) customer.LastName = LastName;
        if (Locale is not null) customer.Locale = Locale;
        else if (customer.Id == 0) customer.Locale = defaultLocale;
        if (TimeZone is not null) customer.TimeZone = TimeZone;
        else if (customer.Id == 0) customer.TimeZone = defaultTimeZone;
        if (Country is not null) customer.Country = Country;
        if (SignedUpAt is not null) customer.SignedUpAt = SignedUpAt;
        if (Tags is not null) customer.Tags = Tags;
        if (Attributes is not null) customer.Attributes = Attributes;
    }
}
