using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Surveys;

namespace RetentionCampaigns.Customers;

public sealed record UpsertSummary(int Created, int Updated, int Unchanged);

public sealed record CustomerItem(
    string ExternalId, string Email, string? FirstName, string? LastName, string Locale, string TimeZone,
    string? Country, DateTime? SignedUpAt, List<string> Tags, Dictionary<string, JsonElement> Attributes,
    DateTime CreatedAt, DateTime UpdatedAt);

public sealed record CustomerDetail(
    CustomerItem Customer, IReadOnlyDictionary<string, ConsentState> Consent, bool MarketingEmailAllowed,
    int OrderCount, List<OrderItem> Orders, List<SurveyAnswerItem> SurveyAnswers);

public sealed record CustomerPage(List<CustomerItem> Items, string? NextAfter);

public static class CustomersApi
{
    public static RouteGroupBuilder MapCustomers(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/customers").WithTags("Customers");
        group.MapGet("/", List).WithSummary("List customers by external id, 100 at a time.");
        group.MapGet("/{externalId}", Get).WithSummary("A customer with orders, survey answers and current consent.");
        group.MapPut("/{externalId}", PutOne).WithSummary("Create or update one customer by external id.");
        group.MapPost("/batch", PostBatch).WithSummary($"Create or update up to {BatchLimit.MaxItems} customers at once; all or nothing.");
        return group;
    }

    static async Task<Results<Ok<CustomerPage>, ValidationProblem>> List(RetentionDb db, string? after, int? limit, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        errors.Range("limit", limit, 1, 1000);
        if (errors.Any) return errors.ToProblem();
        var take = limit ?? 100;
        var query = db.Customers.AsNoTracking().OrderBy(c => c.ExternalId).AsQueryable();
        if (after is not null) query = query.Where(c => string.Compare(c.ExternalId, after) > 0);
        var items = await query.Take(take).ToListAsync(ct);
        return TypedResults.Ok(new CustomerPage(items.Select(AsItem).ToList(), items.Count == take ? items[^1].ExternalId : null));
    }

    static async Task<Results<Ok<CustomerDetail>, ProblemHttpResult>> Get(string externalId, RetentionDb db, CancellationToken ct)
    {
        var customer = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
        if (customer is null) return NotFound(externalId);

        var orderCount = await db.Orders.CountAsync(o => o.CustomerId == customer.Id, ct);
        var orders = await db.Orders.AsNoTracking().Include(o => o.Lines)
            .Where(o => o.CustomerId == customer.Id).OrderByDescending(o => o.OrderedAt).Take(500).ToListAsync(ct);
        var answers = await db.SurveyAnswers.AsNoTracking()
            .Where(a => a.CustomerId == customer.Id).OrderByDescending(a => a.AnsweredAt).Take(500).ToListAsync(ct);
        var consent = await ConsentApi.CurrentStateAsync(db, customer.Id, ct);
        return TypedResults.Ok(new CustomerDetail(AsItem(customer), consent, ConsentApi.AllowsMarketingEmail(consent),
            orderCount, orders.Select(o => o.AsItem(externalId)).ToList(), answers.Select(a => a.AsItem(externalId)).ToList()));
    }

    static async Task<Results<Created<CustomerItem>, Ok<CustomerItem>, ValidationProblem>> PutOne(
        string externalId, CustomerInput input, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (input.ExternalId is not null && input.ExternalId.Trim() != externalId)
            errors.Add("externalId", "must match the external id in the URL (or be left out).");
        var valid = ValidCustomer.Validate(input with { ExternalId = externalId }, "", errors);
        if (valid is null || errors.Any) return errors.ToProblem();

        var summary = await UpsertAsync(db, [valid], shop.Value, clock, ct);
        var stored = await db.Customers.AsNoTracking().FirstAsync(c => c.ExternalId == valid.ExternalId, ct);
        return summary.Created == 1
            ? TypedResults.Created($"/api/customers/{Uri.EscapeDataString(stored.ExternalId)}", AsItem(stored))
            : TypedResults.Ok(AsItem(stored));
    }

    static async Task<Results<Ok<UpsertSummary>, ValidationProblem, ProblemHttpResult>> PostBatch(
        CustomerBatch batch, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (BatchLimit.Check(batch.Customers, "customers", errors) is { } refused) return refused;
        var valid = new List<ValidCustomer>(batch.Customers!.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Customers!.Count; i++)
        {
            var path = $"customers[{i}].";
            if (batch.Customers[i] is not { } input) { errors.Add($"customers[{i}]", "must be an object."); continue; }
            if (ValidCustomer.Validate(input, path, errors) is not { } customer) continue;
            if (!seen.Add(customer.ExternalId)) errors.Add(path + "externalId", "appears more than once in this batch.");
            valid.Add(customer);
        }
        if (errors.Any) return errors.ToProblem();
        return TypedResults.Ok(await UpsertAsync(db, valid, shop.Value, clock, ct));
    }

    /// <summary>Upserts in one transaction. A concurrent insert of the same external id is retried once as an update.</summary>
    public static async Task<UpsertSummary> UpsertAsync(
        RetentionDb db, IReadOnlyList<ValidCustomer> customers, ShopOptions shop, TimeProvider clock, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await TryUpsertAsync(db, customers, shop, clock, ct); }
            catch (DbUpdateException) when (attempt == 1) { db.ChangeTracker.Clear(); }
        }
    }

    static async Task<UpsertSummary> TryUpsertAsync(
        RetentionDb db, IReadOnlyList<ValidCustomer> customers, ShopOptions shop, TimeProvider clock, CancellationToken ct)
    {
        var ids = customers.Select(c => c.ExternalId).ToList();
        var existing = await db.Customers.Where(c => ids.Contains(c.ExternalId)).ToDictionaryAsync(c => c.ExternalId, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        int created = 0, updated = 0, unchanged = 0;
        foreach (var input in customers)
        {
            if (!existing.TryGetValue(input.ExternalId, out var customer))
            {
                customer = new Customer { ExternalId = input.ExternalId, Email = input.Email, CreatedAt = now, UpdatedAt = now };
                input.ApplyTo(customer, shop.DefaultLocale, shop.TimeZone);
                db.Customers.Add(customer);
                created++;
                continue;
            }
            input.ApplyTo(customer, shop.DefaultLocale, shop.TimeZone);
            var entry = db.Entry(customer);
            entry.DetectChanges();
            if (entry.State == EntityState.Modified) { customer.UpdatedAt = now; updated++; }
            else unchanged++;
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return new UpsertSummary(created, updated, unchanged);
    }

    public static CustomerItem AsItem(Customer c) => new(c.ExternalId, c.Email, c.FirstName, c.LastName, c.Locale, c.TimeZone,
        c.Country, c.SignedUpAt, c.Tags, c.Attributes, c.CreatedAt, c.UpdatedAt);

    public static ProblemHttpResult NotFound(string externalId) => TypedResults.Problem(
        title: "Customer not found.", detail: $"No customer has the external id '{externalId}'.", statusCode: StatusCodes.Status404NotFound);
}

public static class CustomerLookup
{
    /// <summary>Internal ids by external id; external ids that name no customer are absent from the map.</summary>
    public static async Task<Dictionary<string, long>> IdsAsync(RetentionDb db, IEnumerable<string> externalIds, CancellationToken ct)
    {
        var ids = externalIds.Distinct().ToList();
        return await db.Customers.Where(c => ids.Contains(c.ExternalId))
            .Select(c => new { c.Id, c.ExternalId }).ToDictionaryAsync(c => c.ExternalId, c => c.Id, ct);
    }
}
