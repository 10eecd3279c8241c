using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Orders;

public sealed record OrderLineItem(string Sku, string? ProductName, string? Category, int Quantity, decimal? UnitPrice);

public sealed record OrderItem(
    string ExternalId, string CustomerId, DateTime OrderedAt, decimal Amount, decimal RefundedAmount, string Currency,
    List<OrderLineItem> Lines, string? PaymentFingerprint);

public static class OrdersApi
{
    public static RouteGroupBuilder MapOrders(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/orders").WithTags("Orders");
        group.MapGet("/{externalId}", Get).WithSummary("One order with its lines.");
        group.MapPut("/{externalId}", PutOne).WithSummary("Create or update one order by external id.");
        group.MapPost("/batch", PostBatch).WithSummary($"Create or update up to {BatchLimit.MaxItems} orders at once; all or nothing.");
        return group;
    }

    public static OrderItem AsItem(this Order o, string customerExternalId) => new(
        o.ExternalId, customerExternalId, o.OrderedAt, FieldRules.FromMinorUnits(o.AmountMinor),
        FieldRules.FromMinorUnits(o.RefundedMinor), o.Currency,
        o.Lines.OrderBy(l => l.Sku, StringComparer.Ordinal).Select(l => new OrderLineItem(l.Sku, l.ProductName, l.Category, l.Quantity,
            l.UnitPriceMinor is { } p ? FieldRules.FromMinorUnits(p) : null)).ToList(), o.PaymentFingerprint);

    static async Task<Results<Ok<OrderItem>, ProblemHttpResult>> Get(string externalId, RetentionDb db, CancellationToken ct)
    {
        var found = await db.Orders.AsNoTracking().Include(o => o.Lines).Where(o => o.ExternalId == externalId)
            .Select(o => new { Order = o, CustomerId = o.Customer!.ExternalId }).FirstOrDefaultAsync(ct);
        return found is null
            ? TypedResults.Problem(title: "Order not found.", detail: $"No order has the external id '{externalId}'.", statusCode: 404)
            : TypedResults.Ok(found.Order.AsItem(found.CustomerId));
    }

    static async Task<Results<Created<OrderItem>, Ok<OrderItem>, ValidationProblem, ProblemHttpResult>> PutOne(
        string externalId, OrderInput input, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (input.ExternalId is not null && input.ExternalId.Trim() != externalId)
            errors.Add("externalId", "must match the external id in the URL (or be left out).");
        var valid = ValidOrder.Validate(input with { ExternalId = externalId }, "", shop.Value.Currency, errors);
        if (valid is null || errors.Any) return errors.ToProblem();

        var (summary, unknown) = await UpsertAsync(db, [valid], clock, ct);
        if (unknown.Count > 0)
        {
            errors.Add("customerId", $"no customer has the external id '{valid.CustomerExternalId}'.");
            return errors.ToProblem(StatusCodes.Status422UnprocessableEntity, "The order refers to an unknown customer.");
        }
        var stored = await db.Orders.AsNoTracking().Include(o => o.Lines).FirstAsync(o => o.ExternalId == externalId, ct);
        var item = stored.AsItem(valid.CustomerExternalId);
        return summary.Created == 1 ? TypedResults.Created($"/api/orders/{Uri.EscapeDataString(externalId)}", item) : TypedResults.Ok(item);
    }

    static async Task<Results<Ok<UpsertSummary>, ValidationProblem, ProblemHttpResult>> PostBatch(
        OrderBatch batch, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (BatchLimit.Check(batch.Orders, "orders", errors) is { } refused) return refused;
        var valid = new List<ValidOrder>(batch.Orders!.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Orders.Count; i++)
        {
            if (batch.Orders[i] is not { } input) { errors.Add($"orders[{i}]", "must be an object."); continue; }
            if (ValidOrder.Validate(input, $"orders[{i}].", shop.Value.Currency, errors) is not { } order) continue;
            if (!seen.Add(order.ExternalId)) errors.Add($"orders[{i}].externalId", "appears more than once in this batch.");
            valid.Add(order);
        }
        if (errors.Any) return errors.ToProblem();

        var (summary, unknown) = await UpsertAsync(db, valid, clock, ct);
        if (unknown.Count == 0) return TypedResults.Ok(summary);
        for (var i = 0; i < valid.Count; i++)
            if (unknown.Contains(valid[i].CustomerExternalId))
                errors.Add($"orders[{i}].customerId", $"no customer has the external id '{valid[i].CustomerExternalId}'.");
        return errors.ToProblem(StatusCodes.Status422UnprocessableEntity, "Orders refer to unknown customers; nothing was written.");
    }

    /// <summary>
    /// Upserts orders in one transaction. Lines, when given, replace the stored ones. When any order names an
    /// unknown customer nothing is written and those customer ids are returned.
    /// </summary>
    public static async Task<(UpsertSummary Summary, HashSet<string> UnknownCustomers)> UpsertAsync(
        RetentionDb db, IReadOnlyList<ValidOrder> orders, TimeProvider clock, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await TryUpsertAsync(db, orders, clock, ct); }
            catch (DbUpdateException) when (attempt == 1) { db.ChangeTracker.Clear(); }
        }
    }

    static async Task<(UpsertSummary, HashSet<string>)> TryUpsertAsync(
        RetentionDb db, IReadOnlyList<ValidOrder> orders, TimeProvider clock, CancellationToken ct)
    {
        var customers = await CustomerLookup.IdsAsync(db, orders.Select(o => o.CustomerExternalId), ct);
        var unknown = orders.Select(o => o.CustomerExternalId).Where(id => !customers.ContainsKey(id)).ToHashSet();
        if (unknown.Count > 0) return (new UpsertSummary(0, 0, 0), unknown);

        var orderIds = orders.Select(o => o.ExternalId).ToList();
        var existing = await db.Orders.Include(o => o.Lines).Where(o => orderIds.Contains(o.ExternalId))
            .ToDictionaryAsync(o => o.ExternalId, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        int created = 0, updated = 0, unchanged = 0;
        foreach (var input in orders)
        {
            if (!existing.TryGetValue(input.ExternalId, out var order))
            {
                order = new Order { ExternalId = input.ExternalId, Currency = input.Currency, CreatedAt = now };
                db.Orders.Add(order);
                created++;
            }
            var changed = Apply(db, order, input, customers[input.CustomerExternalId]);
            if (order.Id == 0 || changed) order.UpdatedAt = now;
            if (order.Id != 0) { if (changed) updated++; else unchanged++; }
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return (new UpsertSummary(created, updated, unchanged), unknown);
    }

    static bool Apply(RetentionDb db, Order order, ValidOrder input, long customerId)
    {
        order.CustomerId = customerId;
        order.OrderedAt = input.OrderedAt;
        order.AmountMinor = input.AmountMinor;
        order.RefundedMinor = input.RefundedMinor;
        order.Currency = input.Currency;
        // A fingerprint once given stays when an update leaves it out (shops often send it with the first report only).
        if (input.PaymentFingerprint is { } fingerprint) order.PaymentFingerprint = fingerprint;
        var linesChanged = false;
        if (input.Lines is { } lines)
        {
            var wanted = lines.ToDictionary(l => l.Sku, StringComparer.Ordinal);
            foreach (var stale in order.Lines.Where(l => !wanted.ContainsKey(l.Sku)).ToList())
            {
                order.Lines.Remove(stale);
                db.OrderLines.Remove(stale);
                linesChanged = true;
            }
            foreach (var line in lines)
            {
                var existing = order.Lines.FirstOrDefault(l => l.Sku == line.Sku);
                var added = existing is null;
                var stored = existing ?? new OrderLine { Sku = line.Sku };
                if (added) { order.Lines.Add(stored); linesChanged = true; }
                stored.ProductName = line.ProductName;
                stored.Category = line.Category;
                stored.Quantity = line.Quantity;
                stored.UnitPriceMinor = line.UnitPriceMinor;
                if (added) continue;
                var lineEntry = db.Entry(stored);
                lineEntry.DetectChanges();
                linesChanged |= lineEntry.State == EntityState.Modified;
            }
        }
        if (order.Id == 0) return true;
        var entry = db.Entry(order);
        entry.DetectChanges();
        return linesChanged || entry.State == EntityState.Modified;
    }
}
