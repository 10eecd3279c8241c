using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mailing;

namespace RetentionCampaigns.Templates;

public sealed record ContentInput(string? Subject, string? Html, string? Text);
public sealed record TemplateInput(string? Key, string? Name, string? Kind, string? Description, Dictionary<string, ContentInput?>? Content);
public sealed record CheckInput(string? Kind, Dictionary<string, ContentInput?>? Content);
/// <param name="CampaignId">Shows the campaign's name and real offer (or none) instead of the sample offer.</param>
public sealed record PreviewRequest(string? CustomerId, string? Locale, int? Version, long? CampaignId = null);
public sealed record TestSendRequest(string? To, string? CustomerId, string? Locale, long? CampaignId = null);
public sealed record UnsavedPreviewRequest(string? Kind, Dictionary<string, ContentInput?>? Content, string? CustomerId, string? Locale, long? CampaignId = null);

public sealed record TemplateSummary(string Key, string Name, string Kind, string? Description, bool BuiltIn, int Version, bool Valid,
    IReadOnlyList<string> Locales, DateTime UpdatedAt);
/// <param name="FormerContent">For a version converted from Handlebars at the upgrade: the text it was converted from.</param>
public sealed record TemplateDetail(string Key, string Name, string Kind, string? Description, bool BuiltIn, int Version, bool Valid,
    Dictionary<string, TemplateContent> Content, List<TemplateFinding> Problems, DateTime CreatedAt, DateTime UpdatedAt,
    Dictionary<string, TemplateContent>? FormerContent = null);
public sealed record VersionSummary(int Version, bool Valid, int Errors, int Warnings, DateTime CreatedAt);
public sealed record CheckResult(bool Valid, List<TemplateFinding> Problems);
public sealed record TemplatePreview(string Locale, string? CustomerId, string Subject, string Html, string Text, List<TemplateFinding> Problems);
public sealed record TemplateVocabulary(string Language, IEnumerable<string> Variables, IEnumerable<FunctionDoc> Functions,
    IReadOnlyDictionary<string, IEnumerable<string>> BuiltinFunctions, IEnumerable<PartialDoc> Partials);
public sealed record FunctionDoc(string Name, string Arguments, string Output, string Example);
public sealed record PartialDoc(string Name, string Usage);

public static partial class TemplatesApi
{
    const int MaxSourceChars = 256 * 1024, MaxSubjectChars = 1000;

    public static RouteGroupBuilder MapTemplates(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/templates").WithTags("Templates");
        group.MapGet("/", List).WithSummary("All templates with their current version and whether it is valid.");
        group.MapPost("/", Create).WithSummary("Create a template; it is checked and saved even with errors, but only a valid version can be sent.");
        group.MapGet("/vocabulary", Vocabulary).WithSummary("The variables, functions (with their arguments, output and an example), Scriban's built-in functions and the partials templates may use.");
        group.MapPost("/check", Check).WithSummary("Check unsaved template content: errors with line and column, and warnings.");
        group.MapPost("/preview", PreviewUnsaved).WithSummary("Render unsaved content for a customer or the sample customer.");
        group.MapGet("/{key}", Get).WithSummary("A template's current version.");
        group.MapPut("/{key}", Update).WithSummary("Change a template; new content is a new version.");
        group.MapGet("/{key}/versions", Versions).WithSummary("The template's versions, newest first.");
        group.MapGet("/{key}/versions/{version:int}", GetVersion).WithSummary("One version's content and problems.");
        group.MapPost("/{key}/preview", Preview).WithSummary("Render the template for a customer (by external id) or the sample customer.");
        group.MapPost("/{key}/test-send", SendTest).WithSummary("Send the current version to an address through the configured transport, marked [Test].");
        return group;
    }

    static async Task<List<TemplateSummary>> List(RetentionDb db, CancellationToken ct)
    {
        var rows = await (from t in db.Templates.AsNoTracking()
                          join v in db.TemplateVersions.AsNoTracking() on new { TemplateId = t.Id, t.Version } equals new { v.TemplateId, v.Version }
                          orderby t.Key
                          select new { t, v }).ToListAsync(ct);
        return rows.Select(r => Summary(r.t, r.v)).ToList();
    }

    static TemplateVocabulary Vocabulary(TemplateEngine engine) => new(
        "Scriban (https://github.com/scriban/scriban/blob/master/doc/language.md); HTML parts escape every {{ value }}",
        TemplateSchema.Root.Paths(),
        TemplateSandbox.Functions.OrderBy(f => f.Name, StringComparer.Ordinal).Select(f => new FunctionDoc(f.Name, f.Arguments, f.Output, f.Example)),
        engine.Sandbox.Objects.OrderBy(o => o.Name, StringComparer.Ordinal).ToDictionary(o => o.Name, o => (IEnumerable<string>)o.Members.Order(StringComparer.Ordinal)),
        engine.Partials.Order(StringComparer.Ordinal).Select(name => new PartialDoc(name, PartialUsage(name))));

    static string PartialUsage(string name) => name switch
    {
        PartialInliner.LayoutName => "{{ wrap layout preheader: \"The line mail clients show after the subject\" }} ... {{ end }} (service: true for the double opt-in footer)",
        "button" => "{{ include \"button\" href: (link links.shop) label: \"Shop now\" }}",
        _ => $"{{{{ include \"{name}\" }}}}",
    };

    static async Task<Results<Created<TemplateDetail>, ValidationProblem, ProblemHttpResult>> Create(
        TemplateInput input, RetentionDb db, TemplateValidator validator, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var key = errors.Required("key", input.Key, 64);
        if (key is not null && !KeyPattern().IsMatch(key)) errors.Add("key", "must be lower-case letters, digits and dashes, starting with a letter or digit.");
        var name = errors.Required("name", input.Name, 200);
        var kind = Kind(errors, input.Kind, required: false) ?? TemplateKinds.Marketing;
        var description = errors.Optional("description", input.Description, 2000);
        var content = Content(errors, input.Content, required: true);
        if (errors.Any) return errors.ToProblem();
        if (await db.Templates.AnyAsync(t => t.Key == key, ct)) return Problems.Conflict("key", $"a template with the key '{key}' exists already.");

        var now = clock.GetUtcNow().UtcDateTime;
        var template = new MessageTemplate { Key = key!, Name = name!, Kind = kind, Description = description, Version = 1, CreatedAt = now, UpdatedAt = now };
        db.Templates.Add(template);
        await db.SaveChangesAsync(ct);
        var version = NewVersion(template, content!, validator, now);
        db.TemplateVersions.Add(version);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/templates/{key}", Detail(template, version));
    }

    static async Task<Results<Ok<TemplateDetail>, ValidationProblem, ProblemHttpResult>> Update(
        string key, TemplateInput input, RetentionDb db, TemplateValidator validator, TimeProvider clock, CancellationToken ct)
    {
        var template = await db.Templates.FirstOrDefaultAsync(t => t.Key == key, ct);
        if (template is null) return NotFound(key);
        var errors = new ValidationErrors();
        if (input.Key is not null && input.Key != key) errors.Add("key", "cannot be changed: campaigns refer to templates by key.");
        var name = errors.Optional("name", input.Name, 200);
        var kind = Kind(errors, input.Kind, required: false);
        var description = errors.Optional("description", input.Description, 2000);
        var content = Content(errors, input.Content, required: false);
        if (errors.Any) return errors.ToProblem();

        var now = clock.GetUtcNow().UtcDateTime;
        var current = await db.TemplateVersions.FirstAsync(v => v.TemplateId == template.Id && v.Version == template.Version, ct);
        if (name is not null) template.Name = name;
        if (input.Description is not null) template.Description = description;
        var kindChanged = kind is not null && kind != template.Kind;
        if (kind is not null) template.Kind = kind;
        // A new version when the content changes, or when the kind does (the lint depends on it).
        if (content is not null && !SameContent(content, current.Content) || kindChanged)
        {
            template.Version++;
            current = NewVersion(template, content ?? current.Content, validator, now);
            db.TemplateVersions.Add(current);
        }
        if (db.ChangeTracker.HasChanges()) template.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(Detail(template, current));
    }

    static async Task<Results<Ok<TemplateDetail>, ProblemHttpResult>> Get(string key, RetentionDb db, CancellationToken ct)
    {
        var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key, ct);
        if (template is null) return NotFound(key);
        var version = await db.TemplateVersions.AsNoTracking().FirstAsync(v => v.TemplateId == template.Id && v.Version == template.Version, ct);
        return TypedResults.Ok(Detail(template, version));
    }

    static async Task<Results<Ok<List<VersionSummary>>, ProblemHttpResult>> Versions(string key, RetentionDb db, CancellationToken ct)
    {
        var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key, ct);
        if (template is null) return NotFound(key);
        var versions = await db.TemplateVersions.AsNoTracking().Where(v => v.TemplateId == template.Id).OrderByDescending(v => v.Version).ToListAsync(ct);
        return TypedResults.Ok(versions.Select(v => new VersionSummary(v.Version, v.Valid,
            v.Problems.Count(p => p.Severity == TemplateFinding.Error), v.Problems.Count(p => p.Severity == TemplateFinding.Warning), v.CreatedAt)).ToList());
    }

    static async Task<Results<Ok<TemplateDetail>, ProblemHttpResult>> GetVersion(string key, int version, RetentionDb db, CancellationToken ct)
    {
        var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key, ct);
        if (template is null) return NotFound(key);
        var found = await db.TemplateVersions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == template.Id && v.Version == version, ct);
        return found is null
            ? TypedResults.Problem(title: "Version not found.", detail: $"Template '{key}' has no version {version}.", statusCode: 404)
            : TypedResults.Ok(Detail(template, found));
    }

    static Results<Ok<CheckResult>, ValidationProblem> Check(CheckInput input, TemplateValidator validator)
    {
        var errors = new ValidationErrors();
        var kind = Kind(errors, input.Kind, required: false) ?? TemplateKinds.Marketing;
        var content = Content(errors, input.Content, required: true);
        if (errors.Any) return errors.ToProblem();
        var problems = validator.Validate(kind, content!);
        return TypedResults.Ok(new CheckResult(problems.All(p => p.Severity != TemplateFinding.Error), problems));
    }

    static async Task<Results<Ok<TemplatePreview>, ValidationProblem, ProblemHttpResult>> Preview(
        string key, PreviewRequest? request, RetentionDb db, TemplateEngine engine, TemplateModelBuilder models, IOptions<ShopOptions> shop, TimeProvider clock,
        CancellationToken ct)
    {
        request ??= new PreviewRequest(null, null, null);
        var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key, ct);
        if (template is null) return NotFound(key);
        var number = request.Version ?? template.Version;
        var version = await db.TemplateVersions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == template.Id && v.Version == number, ct);
        if (version is null) return TypedResults.Problem(title: "Version not found.", detail: $"Template '{key}' has no version {number}.", statusCode: 404);
        return await RenderPreviewAsync(version.Content, version.Problems, request.CustomerId, request.Locale, request.CampaignId, db, engine, models, shop, clock, ct);
    }

    static async Task<Results<Ok<TemplatePreview>, ValidationProblem, ProblemHttpResult>> PreviewUnsaved(
        UnsavedPreviewRequest request, RetentionDb db, TemplateEngine engine, TemplateValidator validator, TemplateModelBuilder models, IOptions<ShopOptions> shop,
        TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var kind = Kind(errors, request.Kind, required: false) ?? TemplateKinds.Marketing;
        var content = Content(errors, request.Content, required: true);
        if (errors.Any) return errors.ToProblem();
        return await RenderPreviewAsync(content!, validator.Validate(kind, content!), request.CustomerId, request.Locale, request.CampaignId, db, engine, models, shop, clock, ct);
    }

    static async Task<Results<Ok<TemplatePreview>, ValidationProblem, ProblemHttpResult>> RenderPreviewAsync(
        Dictionary<string, TemplateContent> content, List<TemplateFinding> problems, string? customerId, string? locale, long? campaignId,
        RetentionDb db, TemplateEngine engine, TemplateModelBuilder models, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        CampaignPreview? campaign = null;
        if (campaignId is { } id && (campaign = await CampaignPreview.ForAsync(db, id, shop.Value, clock.GetUtcNow().UtcDateTime, ct)) is null)
            return TypedResults.Problem(title: "Campaign not found.", detail: $"No campaign has the id {id}.", statusCode: 404);
        if (locale is not null && !content.ContainsKey(locale))
            errors.Add("locale", $"the template has no '{locale}' version; it has: {string.Join(", ", content.Keys.Order())}.");
        var blocking = problems.Where(p => p.Severity == TemplateFinding.Error && (locale is null || p.Locale == locale)).ToList();
        foreach (var problem in blocking) errors.Add(FieldPath(problem), Describe(problem));
        if (errors.Any) return blocking.Count > 0 ? errors.ToProblem(422, "The template has errors and cannot be rendered.") : errors.ToProblem();

        if (await models.ForPreviewAsync(content, customerId, locale, ct, campaign) is not var (model, tracker)) return CustomersApi.NotFound(customerId!);
        try
        {
            var message = engine.Render(content[model.Customer.Locale], model, tracker);
            return TypedResults.Ok(new TemplatePreview(model.Customer.Locale, customerId, message.Subject, message.Html, message.Text, problems));
        }
        catch (TemplateRenderException exception)
        {
            errors.Add($"content.{model.Customer.Locale}", exception.Message);
            return errors.ToProblem(422, "The template could not be rendered.");
        }
    }

    static async Task<Results<Ok<TestSendResult>, ValidationProblem, ProblemHttpResult>> SendTest(
        string key, TestSendRequest request, TestSend testSend, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var to = errors.Required("to", request.To, 254);
        if (errors.Any) return errors.ToProblem();
        try
        {
            return TypedResults.Ok(await testSend.SendAsync(key, to!, request.CustomerId, request.Locale, ct, request.CampaignId));
        }
        catch (TestSend.Refused refused)
        {
            if (refused.Status == 404) return TypedResults.Problem(title: "Not found.", detail: refused.Message, statusCode: 404);
            errors.Add(refused.Field, refused.Message);
            return refused.Status == 400 ? errors.ToProblem() : errors.ToProblem(refused.Status, "The test email was not sent.");
        }
    }

    static TemplateVersion NewVersion(MessageTemplate template, Dictionary<string, TemplateContent> content, TemplateValidator validator, DateTime now)
    {
        var problems = validator.Validate(template.Kind, content);
        return new TemplateVersion
        {
            TemplateId = template.Id, Version = template.Version, Content = content, CreatedAt = now,
            Valid = problems.All(p => p.Severity != TemplateFinding.Error), Problems = problems,
        };
    }

    static string? Kind(ValidationErrors errors, string? value, bool required)
    {
        var kind = required ? errors.Required("kind", value, 20) : errors.Optional("kind", value, 20);
        if (kind is null || TemplateKinds.All.Contains(kind)) return kind;
        errors.Add("kind", $"must be one of: {string.Join(", ", TemplateKinds.All)}.");
        return null;
    }

    static Dictionary<string, TemplateContent>? Content(ValidationErrors errors, Dictionary<string, ContentInput?>? input, bool required)
    {
        if (input is null)
        {
            if (required) errors.Add("content", "is required: an object with a 'de' and/or 'en' entry of subject, html and an optional text.");
            return null;
        }
        if (input.Count == 0) { errors.Add("content", "needs at least one language ('de' or 'en')."); return null; }
        var content = new Dictionary<string, TemplateContent>(StringComparer.Ordinal);
        foreach (var (locale, parts) in input)
        {
            var path = $"content.{locale}";
            if (!LocaleFormat.IsSupported(locale)) { errors.Add(path, $"'{locale}' is not a supported language; use {string.Join(" or ", LocaleFormat.Supported)}."); continue; }
            if (parts is null) { errors.Add(path, "must be an object with subject, html and an optional text."); continue; }
            var subject = Source(errors, $"{path}.subject", parts.Subject, MaxSubjectChars, required: true);
            var html = Source(errors, $"{path}.html", parts.Html, MaxSourceChars, required: true);
            var text = Source(errors, $"{path}.text", parts.Text, MaxSourceChars, required: false);
            if (subject is not null && html is not null) content[locale] = new TemplateContent(subject, html, text);
        }
        return content;
    }

    /// <summary>Template source is kept as written (no trimming: whitespace is part of the output), line ends normalised.</summary>
    static string? Source(ValidationErrors errors, string path, string? value, int max, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required) errors.Add(path, "is required.");
            return null;
        }
        if (value.Length > max) { errors.Add(path, $"must be at most {max:N0} characters."); return null; }
        if (value.Contains('\0')) { errors.Add(path, "must not contain NUL characters."); return null; }
        return value.Replace("\r\n", "\n");
    }

    static bool SameContent(Dictionary<string, TemplateContent> a, Dictionary<string, TemplateContent> b) =>
        a.Count == b.Count && a.All(pair => b.TryGetValue(pair.Key, out var other) && other == pair.Value);

    static string FieldPath(TemplateFinding finding) =>
        finding.Part == "template" ? $"content.{finding.Locale}" : $"content.{finding.Locale}.{finding.Part}";

    static string Describe(TemplateFinding finding) =>
        finding.Line is null ? finding.Message : $"line {finding.Line}, column {finding.Column}: {finding.Message}";

    static TemplateSummary Summary(MessageTemplate t, TemplateVersion v) =>
        new(t.Key, t.Name, t.Kind, t.Description, t.BuiltIn, t.Version, v.Valid, v.Content.Keys.Order(StringComparer.Ordinal).ToList(), t.UpdatedAt);

    static TemplateDetail Detail(MessageTemplate t, TemplateVersion v) =>
        new(t.Key, t.Name, t.Kind, t.Description, t.BuiltIn, v.Version, v.Valid, v.Content, v.Problems, t.CreatedAt, t.UpdatedAt, v.FormerContent);

    public static ProblemHttpResult NotFound(string key) =>
        TypedResults.Problem(title: "Template not found.", detail: $"No template has the key '{key}'.", statusCode: 404);


    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex KeyPattern();
}
