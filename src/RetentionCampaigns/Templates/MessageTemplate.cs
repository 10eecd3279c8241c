using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Templates;

/// <summary>A marketer-editable email template; its text lives in versions, <see cref="Version"/> is the current one.</summary>
public sealed class MessageTemplate
{
    public long Id { get; set; }
    /// <summary>Stable, URL-safe name that campaigns and the CLI refer to, e.g. <c>win-back</c>.</summary>
    public required string Key { get; set; }
    public required string Name { get; set; }
    /// <summary><c>marketing</c> needs an unsubscribe link and consent; <c>service</c> (double opt-in) does not.</summary>
    public required string Kind { get; set; }
    public string? Description { get; set; }
    /// <summary>Seeded from the files under templates/.</summary>
    public bool BuiltIn { get; set; }
    public int Version { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

public sealed class TemplateVersion
{
    public long TemplateId { get; set; }
    public int Version { get; set; }
    /// <summary>Per locale: subject, HTML and the optional text part.</summary>
    public Dictionary<string, TemplateContent> Content { get; set; } = [];
    /// <summary>False when the check at save found errors: campaigns refuse such a version.</summary>
    public bool Valid { get; set; }
    public List<TemplateFinding> Problems { get; set; } = [];
    public DateTime CreatedAt { get; set; }
    /// <summary><c>scriban</c>; <c>handlebars</c> for a version stored before the move, until it is converted at start.</summary>
    public string Syntax { get; set; } = TemplateSyntax.Scriban;
    /// <summary>The Handlebars text a converted version was made from, kept so nothing is lost.</summary>
    public Dictionary<string, TemplateContent>? FormerContent { get; set; }

    /// <summary>
    /// The newest version of the template with this key that passed its checks (the built-in ones always exist and
    /// pass): a version saved with errors never reaches a customer, and the mails that must go out (confirmations,
    /// reward notices) keep the last good text meanwhile.
    /// </summary>
    public static Task<TemplateVersion> UsableAsync(RetentionDb db, string key, CancellationToken ct) =>
        (from t in db.Templates.AsNoTracking()
         join v in db.TemplateVersions.AsNoTracking() on t.Id equals v.TemplateId
         where t.Key == key && v.Valid
         orderby v.Version descending
         select v).FirstAsync(ct);
}

/// <summary>An error or a warning found when a version was saved.</summary>
public sealed record TemplateFinding(string Severity, string Locale, string Part, int? Line, int? Column, string Message)
{
    public const string Error = "error", Warning = "warning";
}

public static class TemplateSyntax
{
    public const string Scriban = "scriban", Handlebars = "handlebars";
}

public static class TemplateKinds
{
    public const string Marketing = "marketing", Service = "service";
    public static readonly string[] All = [Marketing, Service];
}
