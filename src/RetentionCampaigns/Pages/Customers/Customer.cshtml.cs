using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Privacy;
using RetentionCampaigns.Segments;
using RetentionCampaigns.Surveys;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Customers;

/// <summary>One entry of the customer's timeline: a consent event or an e-mail of a campaign run, with why it went as it did.</summary>
/// <param name="State">The consent status or the delivery status; <paramref name="Detail"/> the lawful basis and source, or the ledger's reason.</param>
public sealed record TimelineEntry(DateTime At, string Kind, string Title, string State, string? Detail);

/// <summary>Everything about one customer a marketer asks: metrics, orders, answers, consent and e-mails, segments; export and erasure.</summary>
public sealed class CustomerModel(RetentionDb db, SuppressionList suppressions, TimeProvider clock) : PageModel
{
    public const int Shown = 50;

    public Customer Person { get; private set; } = null!;
    public CustomerMetrics? Metrics { get; private set; }
    public List<Order> Orders { get; private set; } = [];
    public int OrderCount { get; private set; }
    public List<SurveyAnswer> Answers { get; private set; } = [];
    public List<TimelineEntry> Timeline { get; private set; } = [];
    public IReadOnlyDictionary<string, ConsentState> Consent { get; private set; } = new Dictionary<string, ConsentState>();
    public List<Segment> Segments { get; private set; } = [];
    [BindProperty] public string? Confirmation { get; set; }
    public string? ConfirmationError { get; private set; }
    public bool JustErased { get; private set; }

    public async Task<IActionResult> OnGetAsync(string externalId, bool erased, CancellationToken ct)
    {
        if (!await LoadAsync(externalId, ct)) return NotFound();
        JustErased = erased;
        return Page();
    }

    /// <summary>Everything stored about the customer as one JSON file (GDPR Art. 15 and 20), written to the audit log.</summary>
    public async Task<IActionResult> OnPostExportAsync(string externalId, CancellationToken ct)
    {
        if (!User.IsInRole(UserRoles.Admin)) return Forbid();
        var document = await PrivacyApi.ExportAsync(db, suppressions, externalId, Actors.Of(User), clock.GetUtcNow().UtcDateTime, ct);
        if (document is null) return NotFound();
        return File(JsonSerializer.SerializeToUtf8Bytes(document, JsonSerializerOptions.Web), "application/json", $"customer-{externalId}.json");
    }

    /// <summary>Erasure (GDPR Art. 17) only after the customer's external id was typed: a slip of the mouse erases nothing.</summary>
    public async Task<IActionResult> OnPostEraseAsync(string externalId, CancellationToken ct)
    {
        if (!User.IsInRole(UserRoles.Admin)) return Forbid();
        var customer = await db.Customers.FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
        if (customer is null) return NotFound();
        if (customer.ErasedAt is null && Confirmation?.Trim() == externalId)
        {
            await CustomerErasure.EraseAsync(db, suppressions, customer, Actors.Of(User), clock.GetUtcNow().UtcDateTime, ct);
            // Erasure replaces the external id too: the anonymous shell has an id of its own.
            return Redirect($"/customers/{Uri.EscapeDataString(customer.ExternalId)}?erased=true");
        }
        ConfirmationError = customer.ErasedAt is null
            ? "Type the customer's external id exactly to confirm the erasure."
            : "This customer's personal data was erased already.";
        db.ChangeTracker.Clear();
        await LoadAsync(externalId, ct);
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    async Task<bool> LoadAsync(string externalId, CancellationToken ct)
    {
        if (await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.ExternalId == externalId, ct) is not { } customer) return false;
        Person = customer;
        var id = customer.Id;
        Metrics = await db.CustomerMetrics.AsNoTracking().FirstOrDefaultAsync(m => m.CustomerId == id, ct);
        OrderCount = await db.Orders.CountAsync(o => o.CustomerId == id, ct);
        Orders = await db.Orders.AsNoTracking().Include(o => o.Lines).Where(o => o.CustomerId == id)
            .OrderByDescending(o => o.OrderedAt).Take(Shown).ToListAsync(ct);
        Answers = await db.SurveyAnswers.AsNoTracking().Where(a => a.CustomerId == id).OrderByDescending(a => a.AnsweredAt).Take(Shown).ToListAsync(ct);
        var events = await db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == id)
            .OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id).Take(Shown).ToListAsync(ct);
        Consent = await ConsentApi.CurrentStateAsync(db, id, ct);
        var emails = await (from d in db.Deliveries.AsNoTracking()
                            join r in db.CampaignRuns on d.RunId equals r.Id
                            join c in db.Campaigns on r.CampaignId equals c.Id
                            where d.CustomerId == id
                            orderby d.UpdatedAt descending
                            select new { c.Name, d.Status, d.Reason, d.UpdatedAt })
            .Take(Shown).ToListAsync(ct);
        Timeline = events.Select(e => new TimelineEntry(e.OccurredAt, "consent", e.Purpose, e.Status,
                string.Join(" · ", new[] { e.LawfulBasis, e.Source.Replace('_', ' '), e.Objection ? "objection" : null }.OfType<string>())))
            .Concat(emails.Select(e => new TimelineEntry(e.UpdatedAt, "email", e.Name, e.Status.Replace('_', ' '), e.Reason)))
            .OrderByDescending(e => e.At).ToList();

        // Segment membership with the same evaluation the explanation uses: one load of the customer's facts for all rules.
        var segments = await db.Segments.AsNoTracking().OrderByDescending(s => s.BuiltIn).ThenBy(s => s.Name).ToListAsync(ct);
        var rules = segments.Select(s => (Segment: s, Rule: SegmentsApi.Stored(s))).ToList();
        var all = new GroupNode("rule", false, rules.Select(r => r.Rule).ToList());
        var facts = rules.Count == 0 ? null : (await SegmentQuery.LoadFactsAsync(db, externalId, ct, all)).SingleOrDefault();
        var now = clock.GetUtcNow().UtcDateTime;
        Segments = facts is null ? [] : rules.Where(r => SegmentEvaluator.Matches(r.Rule, facts, now)).Select(r => r.Segment).ToList();
        return true;
    }
}
