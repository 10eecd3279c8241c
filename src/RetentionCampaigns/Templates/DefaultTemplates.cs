using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Templates;

/// <summary>
/// The default templates of <c>templates/</c> (listed in templates.json): each is seeded once, as version 1.
/// From then on it belongs to the marketers; later changes to the files never overwrite their edits.
/// </summary>
public static class DefaultTemplates
{
    public sealed record Definition(string Key, string Name, string Kind, string Description)
    {
        public Dictionary<string, TemplateContent> Content { get; } = LocaleFormat.Supported.ToDictionary(l => l, l => new TemplateContent(
            DefaultTemplateFiles.File($"{l}/{Key}.subject.sbn")?.Trim() ?? throw new InvalidOperationException($"templates/{l}/{Key}.subject.sbn is missing"),
            DefaultTemplateFiles.File($"{l}/{Key}.html.sbn") ?? throw new InvalidOperationException($"templates/{l}/{Key}.html.sbn is missing"),
            DefaultTemplateFiles.File($"{l}/{Key}.text.sbn")));
    }

    public static IReadOnlyList<Definition> All { get; } =
        JsonSerializer.Deserialize<List<Definition>>(DefaultTemplateFiles.File("templates.json")!, JsonConversion.Options)!;

    /// <summary>Converts versions stored in Handlebars (see <see cref="StoredTemplateConversion"/>), then seeds the missing defaults.</summary>
    public static async Task EnsureAsync(RetentionDb db, TemplateValidator validator, TimeProvider clock, CancellationToken ct, ILogger? log = null)
    {
        await StoredTemplateConversion.ConvertAsync(db, validator, log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var existing = await db.Templates.Select(t => t.Key).ToListAsync(ct);
        foreach (var definition in All.Where(d => !existing.Contains(d.Key)))
        {
            var template = new MessageTemplate
            {
                Key = definition.Key, Name = definition.Name, Kind = definition.Kind, Description = definition.Description,
                BuiltIn = true, Version = 1, CreatedAt = now, UpdatedAt = now,
            };
            var findings = validator.Validate(definition.Kind, definition.Content);
            try
            {
                db.Templates.Add(template);
                await db.SaveChangesAsync(ct);
                db.TemplateVersions.Add(new TemplateVersion
                {
                    TemplateId = template.Id, Version = 1, Content = definition.Content, CreatedAt = now,
                    Valid = findings.All(f => f.Severity != TemplateFinding.Error), Problems = findings,
                });
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                db.ChangeTracker.Clear(); // another node starting at the same moment seeded it
            }
        }
    }
}
