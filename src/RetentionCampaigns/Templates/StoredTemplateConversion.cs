using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Templates;

/// <summary>
/// At start, converts template versions stored in Handlebars (before the move to Scriban) and checks them again
/// with today's checker. A version that converts keeps its Handlebars text in <see cref="TemplateVersion.FormerContent"/>;
/// one that cannot be converted keeps its text as it was, is marked invalid with the reason, and is never sent
/// (campaigns use the newest valid version). Idempotent, and safe when several nodes start at once: each version is
/// written only while it is still marked Handlebars.
/// </summary>
public static class StoredTemplateConversion
{
    public static async Task<int> ConvertAsync(RetentionDb db, TemplateValidator validator, ILogger log, CancellationToken ct)
    {
        var pending = await (from v in db.TemplateVersions.AsNoTracking()
                             join t in db.Templates.AsNoTracking() on v.TemplateId equals t.Id
                             where v.Syntax == TemplateSyntax.Handlebars
                             select new { Version = v, t.Key, t.Kind }).ToListAsync(ct);
        var converted = 0;
        foreach (var item in pending)
        {
            var version = item.Version;
            var problem = (string?)null;
            var content = new Dictionary<string, TemplateContent>();
            foreach (var (locale, parts) in version.Content)
            {
                var subject = HandlebarsConversion.Convert(parts.Subject);
                var html = HandlebarsConversion.Convert(parts.Html);
                var text = parts.Text is null ? null : HandlebarsConversion.Convert(parts.Text);
                problem ??= Located(locale, "subject", subject.Problem) ?? Located(locale, "html", html.Problem) ?? Located(locale, "text", text?.Problem);
                if (problem is null) content[locale] = new TemplateContent(subject.Scriban!, html.Scriban!, text?.Scriban);
            }
            List<TemplateFinding> findings;
            bool valid;
            Dictionary<string, TemplateContent>? former;
            if (problem is null)
            {
                findings = validator.Validate(item.Kind, content);
                valid = version.Valid && findings.All(f => f.Severity != TemplateFinding.Error);
                if (!version.Valid) findings = [.. version.Problems.Where(p => p.Severity == TemplateFinding.Error && !findings.Contains(p)), .. findings];
                findings.Insert(0, new TemplateFinding(TemplateFinding.Warning, "", "template", null, null,
                    "Converted from Handlebars to Scriban when the app was upgraded; the former text is kept with the version."));
                former = version.Content;
            }
            else
            {
                content = version.Content;
                valid = false;
                findings = [new TemplateFinding(TemplateFinding.Error, "", "template", null, null, problem), .. version.Problems];
                former = null;
            }
            var written = await db.TemplateVersions
                .Where(v => v.TemplateId == version.TemplateId && v.Version == version.Version && v.Syntax == TemplateSyntax.Handlebars)
                .ExecuteUpdateAsync(set => set
                    .SetProperty(v => v.Content, content)
                    .SetProperty(v => v.FormerContent, former)
                    .SetProperty(v => v.Valid, valid)
                    .SetProperty(v => v.Problems, findings)
                    .SetProperty(v => v.Syntax, TemplateSyntax.Scriban), ct);
            if (written == 0) continue; // another node did it
            converted++;
            if (problem is null) log.LogInformation("Template {Key} version {Version} converted from Handlebars to Scriban ({Validity})", item.Key, version.Version, valid ? "valid" : "invalid");
            else log.LogWarning("Template {Key} version {Version} could not be converted from Handlebars and is kept as invalid: {Problem}", item.Key, version.Version, problem);
        }
        return converted;
    }

    static string? Located(string locale, string part, string? problem) => problem is null ? null : $"{locale} {part}: {problem}";
}
