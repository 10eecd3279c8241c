using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Segments;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Segments;

/// <summary>
/// The segment builder: a rule tree of groups and conditions, a live count with the first members, "explain this
/// customer", versions. Every post re-renders the page from the posted lines; htmx swaps only the part that changed.
/// </summary>
public sealed class EditModel(RetentionDb db, TimeProvider clock, UiFormat format) : PageModel
{
    public const int FirstMembers = 10;

    public Segment? Segment { get; private set; }
    public List<SegmentVersion> Versions { get; private set; } = [];
    public IReadOnlyList<BuilderField> Fields { get; private set; } = [];
    /// <summary>Suggestions for the tag condition: tags found on a sample of customers.</summary>
    public List<string> KnownTags { get; private set; } = [];

    /// <summary>Suggestions for the country condition: ISO 3166 codes with their names in the page's language.</summary>
    public static IReadOnlyList<(string Code, string Name)> Countries() =>
        CountriesByLanguage.GetOrAdd(System.Globalization.CultureInfo.CurrentUICulture.Name, _ => CountryList());

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<(string, string)>> CountriesByLanguage = new();

    static IReadOnlyList<(string Code, string Name)> CountryList() =>
        System.Globalization.CultureInfo.GetCultures(System.Globalization.CultureTypes.SpecificCultures)
            .Select(c => { try { return new System.Globalization.RegionInfo(c.Name); } catch (ArgumentException) { return null; } })
            .OfType<System.Globalization.RegionInfo>().Where(r => r.TwoLetterISORegionName.Length == 2 && r.TwoLetterISORegionName.All(char.IsAsciiLetterUpper))
            .DistinctBy(r => r.TwoLetterISORegionName).OrderBy(r => r.TwoLetterISORegionName).Select(r => (r.TwoLetterISORegionName, r.DisplayName)).ToList();

    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? Description { get; set; }
    [BindProperty] public List<RuleLine> Lines { get; set; } = [];
    [BindProperty] public string? Json { get; set; }
    [BindProperty(SupportsGet = true, Name = "explain")] public string? ExplainId { get; set; }

    /// <summary>Errors by line of the builder; the name, description and JSON errors by their field.</summary>
    public Dictionary<int, List<string>> LineErrors { get; } = [];
    public ValidationErrors Errors { get; } = new();
    public string RuleJson { get; private set; } = "";
    public SegmentPreview? Preview { get; private set; }
    public SegmentExplanation? Explanation { get; private set; }
    public bool ExplainedNobody { get; private set; }
    public bool Saved { get; private set; }

    public bool CanChange => UserRoles.MayChange(User);
    public bool ReadOnly => !CanChange || Segment?.BuiltIn == true;

    public async Task<IActionResult> OnGetAsync(long? id, bool saved, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        Saved = saved;
        if (Segment is not null)
        {
            (Name, Description) = (Segment.Name, Segment.Description);
            using var rule = JsonDocument.Parse(Segment.Rule);
            Lines = RuleForm.FromJson(rule.RootElement);
        }
        else Lines = RuleForm.Empty();
        await EvaluateAsync(ct);
        return Page();
    }

    /// <summary>A change to the rule that is not yet saved: a structural action, a field changed, JSON applied, explain.</summary>
    public async Task<IActionResult> OnPostAsync(long? id, string? act, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        if (act == "json") ApplyJson();
        else if (act is not null && act != "explain") Lines = RuleForm.Apply(Lines, act);
        ModelState.Clear(); // the page shows the lines as changed, not as posted
        await EvaluateAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(long? id, CancellationToken ct)
    {
        if (!CanChange) return Forbid();
        if (!await LoadAsync(id, ct)) return NotFound();
        if (Segment?.BuiltIn == true) return Forbid();
        RuleForm.Normalise(Lines, Fields);
        var (rule, _) = RuleForm.ToJson(Lines, Fields);
        var input = new SegmentInput(Name ?? "", Description ?? "", rule is null ? null : JsonSerializer.SerializeToElement(rule));
        var now = clock.GetUtcNow().UtcDateTime;
        var saved = Segment is null
            ? await SegmentChanges.CreateAsync(db, input, Actors.Of(User), now, ct)
            : await SegmentChanges.UpdateAsync(db, Segment.Id, input, Actors.Of(User), now, ct);
        if (saved.Segment is { } segment)
        {
            var target = $"/segments/{segment.Id}?saved=true";
            if (Request.Headers.ContainsKey("HX-Request")) { Response.Headers["HX-Redirect"] = target; return new EmptyResult(); }
            return Redirect(target);
        }
        // The rule's own errors are found again below, at their lines; here the name's and description's.
        foreach (var (path, message) in saved.Errors.Messages.Where(m => !m.Path.StartsWith("rule", StringComparison.Ordinal))) Errors.Add(path, message);
        if (saved.Conflict is { } conflict) Errors.Add(conflict.Field, conflict.Message);
        ModelState.Clear();
        await EvaluateAsync(ct);
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }

    /// <summary>A copy of a segment (a built-in one, say) as a new segment of one's own, to change.</summary>
    public async Task<IActionResult> OnPostCopyAsync(long? id, CancellationToken ct)
    {
        if (!CanChange) return Forbid();
        if (!await LoadAsync(id, ct) || Segment is null) return NotFound();
        var taken = await db.Segments.Select(s => s.Name.ToLower()).ToListAsync(ct);
        var name = Enumerable.Range(1, 1000).Select(n => n == 1 ? $"{Segment.Name} (copy)" : $"{Segment.Name} (copy {n})")
            .First(n => !taken.Contains(n.ToLowerInvariant()));
        using var rule = JsonDocument.Parse(Segment.Rule);
        var saved = await SegmentChanges.CreateAsync(db, new SegmentInput(name, Segment.Description, rule.RootElement.Clone()),
            Actors.Of(User), clock.GetUtcNow().UtcDateTime, ct);
        return Redirect($"/segments/{saved.Segment!.Id}");
    }

    async Task<bool> LoadAsync(long? id, CancellationToken ct)
    {
        if (id is { } segmentId)
        {
            Segment = await db.Segments.AsNoTracking().FirstOrDefaultAsync(s => s.Id == segmentId, ct);
            if (Segment is null) return false;
            Versions = await db.SegmentVersions.AsNoTracking().Where(v => v.SegmentId == segmentId).OrderByDescending(v => v.Version).ToListAsync(ct);
        }
        var campaigns = await db.Campaigns.AsNoTracking().OrderBy(c => c.Name).Select(c => new { c.Id, c.Name }).ToListAsync(ct);
        Fields = RuleForm.Fields(campaigns.Select(c => (c.Id, c.Name)));
        // A sample, not a scan of every customer: the list suggests, the field takes any tag.
        var tagLists = await db.Customers.AsNoTracking().Where(c => c.ErasedAt == null).OrderByDescending(c => c.Id).Take(2000).Select(c => c.Tags).ToListAsync(ct);
        KnownTags = tagLists.SelectMany(t => t).Distinct().Order().Take(200).ToList();
        return true;
    }

    void ApplyJson()
    {
        try
        {
            using var document = JsonDocument.Parse(Json ?? "");
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException();
            Lines = RuleForm.FromJson(document.RootElement);
        }
        catch (JsonException)
        {
            Errors.Add("json", "This is not a JSON object such as {\"all\": [{\"field\": \"recency_days\", \"op\": \">=\", \"value\": 90}]}.");
        }
    }

    /// <summary>The rule as it stands: its JSON, its errors at their lines, else the count, first members and the explanation.</summary>
    async Task EvaluateAsync(CancellationToken ct)
    {
        if (Lines.Count == 0) Lines = RuleForm.Empty();
        RuleForm.Normalise(Lines, Fields);
        var (rule, paths) = RuleForm.ToJson(Lines, Fields);
        RuleJson = rule?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "";
        if (!Errors.For("json").Any()) Json = RuleJson;
        var errors = new ValidationErrors();
        var parsed = SegmentRule.Parse(rule is null ? null : JsonSerializer.SerializeToElement(rule), "rule", errors);
        foreach (var (path, message) in errors.Messages) AddError(path, message, paths);
        if (parsed is null) return;
        var now = clock.GetUtcNow().UtcDateTime;
        Preview = await SegmentsApi.PreviewAsync(db, parsed, now, ct, FirstMembers);
        if (!string.IsNullOrWhiteSpace(ExplainId))
        {
            Explanation = await SegmentsApi.ExplainAsync(db, parsed, Segment?.Version ?? 0, ExplainId.Trim(), now, ct);
            ExplainedNobody = Explanation is null;
        }
    }

    void AddError(string path, string message, string[] paths)
    {
        if (!path.StartsWith("rule", StringComparison.Ordinal)) { Errors.Add(path, message); return; }
        var line = RuleForm.LineOf(path, paths);
        if (!LineErrors.TryGetValue(line, out var list)) LineErrors[line] = list = [];
        list.Add(message);
    }

    /// <summary>A value of the explanation as the page's language writes it: numbers, times in the shop's zone, lists.</summary>
    public string Show(object? value) => value switch
    {
        null => "–",
        double d => d.ToString("#,##0.##", System.Globalization.CultureInfo.CurrentCulture),
        DateTime at => format.DateTime(at),
        bool b => b ? "true" : "false",
        System.Collections.IEnumerable list and not string => string.Join(", ", list.Cast<object?>().Select(Show)),
        _ => value.ToString() ?? "",
    };

    /// <summary>The field's label for a condition of the explanation.</summary>
    public string Label(string field) =>
        Fields.FirstOrDefault(f => f.Name == field)?.Label
        ?? (field.StartsWith(RuleForm.AttributeField, StringComparison.Ordinal) ? field[RuleForm.AttributeField.Length..] : field);
}
