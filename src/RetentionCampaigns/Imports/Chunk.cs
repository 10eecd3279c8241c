using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Orders;

namespace RetentionCampaigns.Imports;

public sealed record StagedCustomer(long Line, ValidCustomer Customer, string? TagsJson, string? AttributesJson);

public sealed record StagedLine(string OrderExternalId, ValidOrderLine Line);

/// <summary>
/// Up to <see cref="CsvImporter.ChunkRows"/> valid rows. Rows are applied in file order, so a later row for the
/// same external id replaces an earlier one within the chunk (as it would across chunks).
/// </summary>
public sealed class Chunk
{
    readonly Dictionary<string, int> customerIndex = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> orderIndex = new(StringComparer.Ordinal);
    readonly Dictionary<(string, string), int> lineIndex = [];

    public List<StagedCustomer> Customers { get; } = [];
    public List<(long Line, ValidOrder Order)> Orders { get; } = [];
    public List<StagedLine> Lines { get; } = [];
    public List<(long Line, ValidConsentEvent Event)> Consents { get; } = [];
    public int Rows { get; private set; }
    public long BytesRead { get; set; }

    public void AddCustomer(long line, ValidCustomer customer)
    {
        Rows++;
        var staged = new StagedCustomer(line, customer,
            customer.Tags is null ? null : JsonConversion.Serialize(customer.Tags),
            customer.Attributes is null ? null : JsonConversion.Serialize(customer.Attributes));
        if (customerIndex.TryGetValue(customer.ExternalId, out var at)) Customers[at] = staged;
        else { customerIndex[customer.ExternalId] = Customers.Count; Customers.Add(staged); }
    }

    /// <summary>Consent events are a ledger: every row is its own event (a repeated one is found by its identity).</summary>
    public void AddConsent(long line, ValidConsentEvent consent)
    {
        Rows++;
        Consents.Add((line, consent));
    }

    public void AddOrder(long line, ValidOrder order)
    {
        Rows++;
        if (orderIndex.TryGetValue(order.ExternalId, out var at)) Orders[at] = (line, order);
        else { orderIndex[order.ExternalId] = Orders.Count; Orders.Add((line, order)); }
        foreach (var orderLine in order.Lines ?? [])
        {
            var staged = new StagedLine(order.ExternalId, orderLine);
            if (lineIndex.TryGetValue((order.ExternalId, orderLine.Sku), out var lineAt)) Lines[lineAt] = staged;
            else { lineIndex[(order.ExternalId, orderLine.Sku)] = Lines.Count; Lines.Add(staged); }
        }
    }
}

/// <summary>What merging one chunk did; rows whose customer is unknown are rejected by line.</summary>
public sealed record MergeResult(long Created, long Updated, long Unchanged, IReadOnlyList<long> UnknownCustomerLines);
