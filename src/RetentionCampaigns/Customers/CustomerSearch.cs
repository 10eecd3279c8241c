using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Segments;

namespace RetentionCampaigns.Customers;

/// <summary>
/// What a marketer looks customers up by: a prefix of the external id, e-mail, first or last name (case-insensitive),
/// and filters on the metrics and on marketing consent. Both the API's customer list and the UI's use it.
/// </summary>
public sealed record CustomerFilter(
    string? Search = null, string? RfmGroup = null, string? NpsCategory = null, bool? Churned = null, string? Consent = null,
    int? RScore = null, int? FScore = null)
{
    public bool Any => Search is not null || RfmGroup is not null || NpsCategory is not null || Churned is not null || Consent is not null
                       || RScore is not null || FScore is not null;

    /// <summary>The filter with closed values checked and normalised; each wrong one named at its parameter.</summary>
    public CustomerFilter Validated(ValidationErrors errors)
    {
        string? Closed(string name, string? value, IReadOnlyList<string> allowed)
        {
            if (string.IsNullOrWhiteSpace(value)) return null;
            var found = allowed.FirstOrDefault(a => a.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase));
            if (found is null) errors.Add(name, $"'{value}' is not one of: {string.Join(", ", allowed)}.");
            return found;
        }
        errors.Range("r", RScore, 1, 5);
        errors.Range("f", FScore, 1, 5);
        var search = string.IsNullOrWhiteSpace(Search) ? null : Search.Trim();
        if (search is { Length: > 200 }) errors.Add("q", "must be at most 200 characters.");
        return new CustomerFilter(search, Closed("rfmGroup", RfmGroup, RfmGroups.All), Closed("npsCategory", NpsCategory, SegmentFields.NpsCategories),
            Churned, Closed("consent", Consent, SegmentFields.ConsentStates), RScore, FScore);
    }
}

public sealed record CustomerRow(
    string ExternalId, string Email, string? FirstName, string? LastName, string? RfmGroup, string NpsCategory,
    int? RecencyDays, int? Frequency, long? MonetaryMinor, bool Churned, string MarketingConsent, bool Erased);

public static class CustomerSearch
{
    public const int MaxPage = 1000;

    /// <summary>One page in external-id order after <paramref name="after"/>; the next page starts after the last row.</summary>
    public static async Task<List<CustomerRow>> PageAsync(RetentionDb db, CustomerFilter filter, string? after, int take, CancellationToken ct)
    {
        var query = db.Customers.AsNoTracking().AsQueryable();
        if (filter.Search is { } search)
        {
            // LIKE with the user's text as a literal prefix; lower() on both sides matches the expression indexes.
            var prefix = search.ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
            query = query.Where(c => EF.Functions.Like(c.ExternalId.ToLower(), prefix, "\\") || EF.Functions.Like(c.Email.ToLower(), prefix, "\\")
                                     || EF.Functions.Like(c.FirstName!.ToLower(), prefix, "\\") || EF.Functions.Like(c.LastName!.ToLower(), prefix, "\\"));
        }
        if (after is not null) query = query.Where(c => string.Compare(c.ExternalId, after) > 0);

        var rows =
            from c in query
            join m in db.CustomerMetrics on c.Id equals m.CustomerId into metrics
            from m in metrics.DefaultIfEmpty()
            select new
            {
                c, m,
                Consent = db.ConsentEvents.Where(e => e.CustomerId == c.Id && e.Purpose == "email_marketing")
                    .OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id).Select(e => e.Status).FirstOrDefault() ?? "none",
            };
        if (filter.RfmGroup is { } group) rows = rows.Where(r => r.m.RfmGroup == group);
        if (filter.NpsCategory is { } nps) rows = rows.Where(r => (r.m.NpsCategory ?? "unknown") == nps);
        if (filter.Churned is { } churned) rows = rows.Where(r => r.m != null && r.m.Churned == churned);
        if (filter.RScore is { } rScore) rows = rows.Where(r => r.m.RScore == rScore);
        if (filter.FScore is { } fScore) rows = rows.Where(r => r.m.FScore == fScore);
        if (filter.Consent is { } consent) rows = rows.Where(r => r.Consent == consent);

        return await rows.OrderBy(r => r.c.ExternalId).Take(take)
            .Select(r => new CustomerRow(r.c.ExternalId, r.c.Email, r.c.FirstName, r.c.LastName, r.m.RfmGroup, r.m.NpsCategory ?? "unknown",
                r.m.RecencyDays, (int?)r.m.Frequency, (long?)r.m.MonetaryMinor, r.m != null && r.m.Churned, r.Consent, r.c.ErasedAt != null))
            .ToListAsync(ct);
    }
}
