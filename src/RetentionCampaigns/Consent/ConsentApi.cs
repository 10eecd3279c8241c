using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Consent;

public sealed record ConsentEventInput(
    string? CustomerId, string? Purpose, string? Status, string? LawfulBasis, bool? Objection, string? Source,
    DateTimeOffset? OccurredAt, string? IpAddress, string? UserAgent, string? ConsentTextVersion);

public sealed record ConsentEventItem(
    string CustomerId, string Purpose, string Status, string LawfulBasis, bool Objection, string Source,
    DateTime OccurredAt, string? IpAddress, string? UserAgent, string? ConsentTextVersion, DateTime RecordedAt);

/// <summary>The latest event of one purpose; <c>none</c> when nothing was ever recorded.</summary>
public sealed record ConsentState(string Status, string? LawfulBasis, bool Objection, string? Source, DateTime? Since);

public static class ConsentApi
{
    public static RouteGroupBuilder MapConsents(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/consents").WithTags("Consent");
        group.MapPost("/", Record).WithSummary("Append a consent event (grant or withdrawal) to the ledger.");
        group.MapGet("/{customerId}", History).WithSummary("A customer's consent ledger, oldest first, and the current state.");
        return group;
    }

    static async Task<Results<Created<ConsentEventItem>, Ok<ConsentEventItem>, ValidationProblem, ProblemHttpResult>> Record(
        ConsentEventInput input, HttpContext http, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var valid = ValidConsentEvent.Validate(input, "", errors);
        if (valid is null) return errors.ToProblem();
        var (customerId, purpose, status, basis, source, ip, userAgent, textVersion) =
            (valid.CustomerId, valid.Purpose, valid.Status, valid.LawfulBasis, valid.Source ?? "api", valid.IpAddress, valid.UserAgent, valid.ConsentTextVersion);

        var customer = await db.Customers.AsNoTracking().Where(c => c.ExternalId == customerId)
            .Select(c => new { c.Id }).FirstOrDefaultAsync(ct);
        if (customer is null) return CustomersApi.NotFound(customerId);

        var now = clock.GetUtcNow().UtcDateTime;
        var occurredAt = input.OccurredAt?.UtcDateTime ?? now;
        if (basis is null)
        {
            // A withdrawal withdraws whatever basis the purpose had.
            var current = await CurrentStateAsync(db, customer.Id, ct);
            basis = current[purpose].LawfulBasis ?? "consent";
        }
        var existing = await db.ConsentEvents.AsNoTracking().FirstOrDefaultAsync(e => e.CustomerId == customer.Id
            && e.Purpose == purpose && e.OccurredAt == occurredAt && e.Status == status, ct);
        if (existing is not null) return TypedResults.Ok(AsItem(existing, customerId));

        var consentEvent = new ConsentEvent
        {
            CustomerId = customer.Id, Purpose = purpose, Status = status, LawfulBasis = basis, Objection = valid.Objection,
            Source = source, OccurredAt = occurredAt, IpAddress = ip, UserAgent = userAgent, ConsentTextVersion = textVersion,
            RecordedAt = now,
        };
        db.ConsentEvents.Add(consentEvent);
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // The same event posted concurrently: the ledger already holds it.
            db.ChangeTracker.Clear();
            var stored = await db.ConsentEvents.AsNoTracking().FirstAsync(e => e.CustomerId == customer.Id
                && e.Purpose == purpose && e.OccurredAt == occurredAt && e.Status == status, ct);
            return TypedResults.Ok(AsItem(stored, customerId));
        }
        return TypedResults.Created($"/api/consents/{Uri.EscapeDataString(customerId)}", AsItem(consentEvent, customerId));
    }

    public sealed record ConsentHistory(string CustomerId, IReadOnlyDictionary<string, ConsentState> Current,
        bool MarketingEmailAllowed, List<ConsentEventItem> Events);

    static async Task<Results<Ok<ConsentHistory>, ProblemHttpResult>> History(string customerId, RetentionDb db, CancellationToken ct)
    {
        var customer = await db.Customers.AsNoTracking().Where(c => c.ExternalId == customerId).Select(c => new { c.Id }).FirstOrDefaultAsync(ct);
        if (customer is null) return CustomersApi.NotFound(customerId);
        var events = await db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == customer.Id)
            .OrderBy(e => e.OccurredAt).ThenBy(e => e.Id).ToListAsync(ct);
        var current = StateFrom(events);
        return TypedResults.Ok(new ConsentHistory(customerId, current, AllowsMarketingEmail(current),
            events.Select(e => AsItem(e, customerId)).ToList()));
    }

    public static async Task<IReadOnlyDictionary<string, ConsentState>> CurrentStateAsync(RetentionDb db, long customerId, CancellationToken ct) =>
        (await CurrentStatesAsync(db, [customerId], ct))[customerId];

    /// <summary>The current state per purpose of many customers at once (one query), for rendering and sending in batches.</summary>
    public static async Task<Dictionary<long, IReadOnlyDictionary<string, ConsentState>>> CurrentStatesAsync(
        RetentionDb db, IReadOnlyCollection<long> customerIds, CancellationToken ct)
    {
        var events = await db.ConsentEvents.AsNoTracking().Where(e => customerIds.Contains(e.CustomerId)).ToListAsync(ct);
        var byCustomer = events.ToLookup(e => e.CustomerId);
        return customerIds.Distinct().ToDictionary(id => id, id => StateFrom(byCustomer[id]));
    }

    /// <summary>The latest event per purpose decides; ties on time go to the later-recorded event.</summary>
    public static IReadOnlyDictionary<string, ConsentState> StateFrom(IEnumerable<ConsentEvent> events)
    {
        var latest = events.GroupBy(e => e.Purpose)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id).First());
        return ConsentVocabulary.Purposes.ToDictionary(p => p, p => latest.TryGetValue(p, out var e)
            ? new ConsentState(e.Status, e.LawfulBasis, e.Objection, e.Source, e.OccurredAt)
            : new ConsentState("none", null, false, null, null));
    }

    /// <summary>What consent alone allows; the sender also checks suppression, erasure and preferences.</summary>
    public static bool AllowsMarketingEmail(IReadOnlyDictionary<string, ConsentState> state) =>
        state["email_marketing"].Status == "granted";

    public static ConsentEventItem AsItem(this ConsentEvent e, string customerId) => new(customerId, e.Purpose, e.Status, e.LawfulBasis,
        e.Objection, e.Source, e.OccurredAt, e.IpAddress, e.UserAgent, e.ConsentTextVersion, e.RecordedAt);
}

/// <summary>A consent event that passed validation; <c>LawfulBasis</c> may be null for a withdrawal (it withdraws the current basis).</summary>
public sealed record ValidConsentEvent(string CustomerId, string Purpose, string Status, string? LawfulBasis, bool Objection, string? Source,
    DateTime? OccurredAt, string? IpAddress, string? UserAgent, string? ConsentTextVersion)
{
    /// <summary>The API's and the CSV import's rules; errors are keyed by <paramref name="path"/> plus the field.</summary>
    public static ValidConsentEvent? Validate(ConsentEventInput input, string path, ValidationErrors errors)
    {
        var before = errors.Total;
        var customerId = errors.Required(path + "customerId", input.CustomerId, 100);
        var purpose = OneOf(errors, path + "purpose", input.Purpose, ConsentVocabulary.Purposes, required: true);
        var status = OneOf(errors, path + "status", input.Status, ConsentVocabulary.Statuses, required: true);
        var basis = OneOf(errors, path + "lawfulBasis", input.LawfulBasis, ConsentVocabulary.LawfulBases, required: false);
        var source = OneOf(errors, path + "source", input.Source, ConsentVocabulary.Sources, required: false);
        if (status == "granted" && basis is null) errors.Add(path + "lawfulBasis", "is required for a grant: consent or existing_customer.");
        if (basis == "existing_customer" && purpose is not null && purpose != "email_marketing")
            errors.Add(path + "lawfulBasis", "existing_customer applies to email_marketing only (UWG section 7(3)).");
        if (input.Objection == true && status != "withdrawn") errors.Add(path + "objection", "can only accompany a withdrawal.");
        var ip = errors.Optional(path + "ipAddress", input.IpAddress, 45);
        if (ip is not null && !IPAddress.TryParse(ip, out _)) errors.Add(path + "ipAddress", "is not an IPv4 or IPv6 address.");
        var userAgent = errors.Optional(path + "userAgent", input.UserAgent, 512);
        var textVersion = errors.Optional(path + "consentTextVersion", input.ConsentTextVersion, 50);
        return errors.Total > before ? null
            : new ValidConsentEvent(customerId!, purpose!, status!, basis, input.Objection ?? false, source, input.OccurredAt?.UtcDateTime, ip, userAgent, textVersion);
    }

    static string? OneOf(ValidationErrors errors, string path, string? value, string[] allowed, bool required)
    {
        var trimmed = required ? errors.Required(path, value, 50) : errors.Optional(path, value, 50);
        if (trimmed is null) return null;
        if (allowed.Contains(trimmed, StringComparer.Ordinal)) return trimmed;
        errors.Add(path, $"must be one of: {string.Join(", ", allowed)}.");
        return null;
    }
}
