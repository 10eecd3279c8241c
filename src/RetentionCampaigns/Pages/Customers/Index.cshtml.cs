using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Pages.Customers;

/// <summary>Find customers by a prefix of their id, e-mail or name and filter them by group, NPS, churn and consent.</summary>
public sealed class IndexModel(RetentionDb db) : PageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true, Name = "q")] public string? Search { get; set; }
    [BindProperty(SupportsGet = true, Name = "group")] public string? RfmGroup { get; set; }
    [BindProperty(SupportsGet = true, Name = "nps")] public string? NpsCategory { get; set; }
    [BindProperty(SupportsGet = true, Name = "churned")] public bool? Churned { get; set; }
    [BindProperty(SupportsGet = true, Name = "consent")] public string? Consent { get; set; }
    [BindProperty(SupportsGet = true, Name = "r")] public int? RScore { get; set; }
    [BindProperty(SupportsGet = true, Name = "f")] public int? FScore { get; set; }
    [BindProperty(SupportsGet = true, Name = "after")] public string? After { get; set; }

    public List<CustomerRow> Rows { get; private set; } = [];
    public ValidationErrors Errors { get; } = new();
    public CustomerFilter Filter { get; private set; } = new();
    public bool HasMore { get; private set; }
    public bool ShopIsEmpty { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        // A value the model binder could not read (churned=maybe) is named like any other wrong filter.
        foreach (var (key, entry) in ModelState.Where(e => e.Value!.Errors.Count > 0))
            Errors.Add(key, "is not a value this filter knows.");
        Filter = new CustomerFilter(Search, RfmGroup, NpsCategory, Churned, Consent, RScore, FScore).Validated(Errors);
        if (Errors.Any) return;
        var rows = await CustomerSearch.PageAsync(db, Filter, After, PageSize + 1, ct);
        HasMore = rows.Count > PageSize;
        Rows = rows.Take(PageSize).ToList();
        ShopIsEmpty = Rows.Count == 0 && !Filter.Any && After is null;
    }

    /// <summary>The link to the next page: the same filters, after the last row shown.</summary>
    public Dictionary<string, string?> NextPage() => new()
    {
        ["q"] = Filter.Search, ["group"] = Filter.RfmGroup, ["nps"] = Filter.NpsCategory, ["churned"] = Filter.Churned?.ToString().ToLowerInvariant(),
        ["consent"] = Filter.Consent, ["r"] = Filter.RScore?.ToString(), ["f"] = Filter.FScore?.ToString(), ["after"] = Rows[^1].ExternalId,
    };
}
