using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Links;
using RetentionCampaigns.Mail;
using RetentionCampaigns.Mailing;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Preferences;
using RetentionCampaigns.PublicPages;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Scheduling;
using RetentionCampaigns.Signups;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Settings;

/// <summary>
/// The configuration the app runs with, defaults included (the bound options, not only what was set), read-only:
/// it is changed in appsettings or environment variables. Secrets are masked.
/// </summary>
[Authorize(Policy = SignInSetup.AdminOnly)]
public sealed partial class ConfigurationModel(IServiceProvider services, IConfiguration configuration) : PageModel
{
    public const string Masked = "••••••";

    public List<(string Section, List<(string Key, string Value)> Settings)> Sections { get; } = [];

    [GeneratedRegex("password|secret|token|apikey|signingkey", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex("(password|pwd)=[^;]*", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringPassword();

    public void OnGet()
    {
        Add("Shop", Options<ShopOptions>("Shop"));
        Add("Database", new { Provider = configuration["Database:Provider"] ?? "Sqlite",
            ConnectionString = ConnectionStringPassword().Replace(configuration.GetConnectionString("Retention") ?? "Data Source=retention.db", "$1=" + Masked) });
        Add("Metrics", Options<MetricsOptions>("Metrics"));
        Add("Mail", Options<MailOptions>("Mail"));
        Add("Mail:Smtp", Options<SmtpOptions>("Mail:Smtp"));
        Add("Mail:Dkim", Options<DkimOptions>("Mail:Dkim"));
        Add("Mail:Bounces", Options<Bounces.BounceOptions>("Mail:Bounces"));
        Add("Scheduling", configuration.GetSection("Scheduling").Get<SchedulingOptions>() ?? new SchedulingOptions());
        Add("Links", Options<PublicLinkOptions>("Links"));
        Add("PublicPages", Options<PublicPageOptions>("PublicPages"));
        Add("Preferences", Options<PreferenceOptions>("Preferences"));
        Add("Consent", Options<SignupOptions>("Consent"));
        Add("Referrals", Options<ReferralOptions>("Referrals"));
    }

    /// <summary>The options as the app uses them; a section that does not pass its checks (not in use, say) as it is set, with why.</summary>
    object Options<T>(string section) where T : class, new()
    {
        try { return services.GetRequiredService<IOptions<T>>().Value; }
        catch (OptionsValidationException e)
        {
            Problems[section] = e.Failures.ToList();
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
    }

    /// <summary>What is wrong with a section, when its checks fail.</summary>
    public Dictionary<string, List<string>> Problems { get; } = [];

    /// <summary>Enums as the words one writes in appsettings (StartTls, not 2).</summary>
    static readonly JsonSerializerOptions AsConfigured = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    void Add(string section, object options)
    {
        var settings = new List<(string, string)>();
        Flatten("", JsonSerializer.SerializeToElement(options, options.GetType(), AsConfigured), settings);
        Sections.Add((section, settings));
    }

    static void Flatten(string prefix, JsonElement value, List<(string, string)> into)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject()) Flatten(prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}", property.Value, into);
                break;
            case JsonValueKind.Array when value.EnumerateArray().All(v => v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)):
                into.Add((prefix, SecretName().IsMatch(prefix) && value.GetArrayLength() > 0 ? Masked : string.Join(", ", value.EnumerateArray().Select(Text))));
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray()) Flatten($"{prefix}:{i++}", item, into);
                break;
            default:
                into.Add((prefix, SecretName().IsMatch(prefix) && value.ValueKind is not JsonValueKind.Null ? Masked : Text(value)));
                break;
        }
    }

    static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "–",
        JsonValueKind.String => value.GetString()!,
        _ => value.GetRawText(),
    };
}
