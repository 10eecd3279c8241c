using RetentionCampaigns.Api;

namespace RetentionCampaigns.Orders;

public sealed record OrderLineInput(string? Sku, string? ProductName, string? Category, int? Quantity, decimal? UnitPrice);

/// <summary>An order as the shop sends it; <c>customerId</c> is the customer's external id.</summary>
public sealed record OrderInput(
    string? ExternalId, string? CustomerId, DateTimeOffset? OrderedAt, decimal? Amount, string? Currency,
    decimal? RefundedAmount, List<OrderLineInput>? Lines, string? PaymentFingerprint = null);

public sealed record OrderBatch(List<OrderInput>? Orders);

public sealed record ValidOrderLine(string Sku, string? ProductName, string? Category, int Quantity, long? UnitPriceMinor);

public sealed record ValidOrder(
    string ExternalId, string CustomerExternalId, DateTime OrderedAt, long AmountMinor, long RefundedMinor,
    string Currency, List<ValidOrderLine>? Lines, string? PaymentFingerprint = null)
{
    public const int MaxLines = 500;

    public static ValidOrder? Validate(OrderInput input, string path, string shopCurrency, ValidationErrors errors)
    {
        var before = errors.Total;
        var externalId = errors.Required(path + "externalId", input.ExternalId, 100);
        var customerId = errors.Required(path + "customerId", input.CustomerId, 100);
        if (input.OrderedAt is null) errors.Add(path + "orderedAt", "is required.");
        var amount = Money(path + "amount", input.Amount, required: true, errors);
        var refunded = Money(path + "refundedAmount", input.RefundedAmount, required: false, errors) ?? 0;
        if (amount is { } a && refunded > a) errors.Add(path + "refundedAmount", "must not exceed the amount.");
        var currency = errors.Optional(path + "currency", input.Currency, 3)?.ToUpperInvariant() ?? shopCurrency;
        if (currency != shopCurrency)
            errors.Add(path + "currency", $"must be the shop currency {shopCurrency} (Shop__Currency).");
        var fingerprint = errors.Optional(path + "paymentFingerprint", input.PaymentFingerprint, 200);

        List<ValidOrderLine>? lines = null;
        if (input.Lines is { } inputLines)
        {
            if (inputLines.Count > MaxLines) errors.Add(path + "lines", $"must hold at most {MaxLines} lines.");
            lines = [];
            var skus = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < inputLines.Count; i++)
            {
                var linePath = $"{path}lines[{i}].";
                if (inputLines[i] is not { } line) { errors.Add($"{path}lines[{i}]", "must be an object."); continue; }
                var sku = errors.Required(linePath + "sku", line.Sku, 100);
                if (sku is not null && !skus.Add(sku)) errors.Add(linePath + "sku", "appears more than once in this order.");
                var name = errors.Optional(linePath + "productName", line.ProductName, 200);
                var category = errors.Optional(linePath + "category", line.Category, 100);
                var quantity = line.Quantity ?? 1;
                if (quantity is < 1 or > 100_000) errors.Add(linePath + "quantity", "must be between 1 and 100000.");
                var unitPrice = Money(linePath + "unitPrice", line.UnitPrice, required: false, errors);
                if (sku is not null) lines.Add(new ValidOrderLine(sku, name, category, quantity, unitPrice));
            }
        }
        if (errors.Total != before) return null;
        return new ValidOrder(externalId!, customerId!, input.OrderedAt!.Value.UtcDateTime, amount!.Value, refunded, currency, lines, fingerprint);
    }

    static long? Money(string path, decimal? value, bool required, ValidationErrors errors)
    {
        if (value is not { } v)
        {
            if (required) errors.Add(path, "is required.");
            return null;
        }
        if (v < 0) { errors.Add(path, "must not be negative."); return null; }
        if (v > 1_000_000_000m) { errors.Add(path, "must be at most 1000000000."); return null; }
        var minor = FieldRules.ToMinorUnits(v);
        if (minor is null) errors.Add(path, "must have at most two decimal places.");
        return minor;
    }
}
