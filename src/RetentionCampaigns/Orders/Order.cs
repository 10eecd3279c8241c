using RetentionCampaigns.Customers;

namespace RetentionCampaigns.Orders;

/// <summary>Amounts are kept in minor units (cents) so sums are exact on SQLite and PostgreSQL alike.</summary>
public sealed class Order
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public long CustomerId { get; set; }
    public Customer? Customer { get; set; }
    public DateTime OrderedAt { get; set; }
    public long AmountMinor { get; set; }
    public long RefundedMinor { get; set; }
    public required string Currency { get; set; }
    /// <summary>The payment provider's opaque fingerprint of the card or account, when the shop gives it (referral fraud rules).</summary>
    public string? PaymentFingerprint { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    public List<OrderLine> Lines { get; set; } = [];
}

/// <summary>Keyed by (order, SKU): a SKU appears once per order, and a natural key saves an index on bulk import.</summary>
public sealed class OrderLine
{
    public long OrderId { get; set; }
    public required string Sku { get; set; }
    public string? ProductName { get; set; }
    public string? Category { get; set; }
    public int Quantity { get; set; } = 1;
    public long? UnitPriceMinor { get; set; }
}
