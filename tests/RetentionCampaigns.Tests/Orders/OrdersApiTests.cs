using System.Net;
using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Orders;

public sealed class OrdersApiTests
{
    static async Task<RetentionApp> AppWithCustomersAsync(DatabaseProvider store)
    {
        var app = await RetentionApp.StartAsync(store);
        var customers = new[] { new { externalId = "C1", email = "a@beispiel.de" }, new { externalId = "C2", email = "b@beispiel.de" } };
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        return app;
    }

    static object Order(string id = "O1", string customer = "C1", decimal amount = 59.80m, decimal refunded = 0m) => new
    {
        customerId = customer, orderedAt = "2025-06-01T12:30:00Z", amount, currency = "EUR", refundedAmount = refunded,
        lines = new object[]
        {
            new { sku = "KAF-1", productName = "Espresso Bohnen", category = "Kaffee", quantity = 2, unitPrice = 19.90m },
            new { sku = "TEE-1", productName = "Grüner Tee", category = "Tee", quantity = 1, unitPrice = 20.00m },
        },
    };

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnOrderIsCreatedReadBackAndReputtingItChangesNothing(DatabaseProvider store)
    {
        await using var app = await AppWithCustomersAsync(store);
        var created = await (await app.Api.PutAsJsonAsync("/api/orders/O1", Order())).JsonAsync(201);
        Assert.Equal(59.80m, created.GetProperty("amount").GetDecimal());
        Assert.Equal(2, created.GetProperty("lines").GetArrayLength());

        var again = await (await app.Api.PutAsJsonAsync("/api/orders/O1", Order())).JsonAsync(200);
        Assert.Equal(created.ToString(), again.ToString());
        var stored = await app.WithDbAsync(db => Task.FromResult(db.Orders.Single()));
        Assert.Equal(stored.CreatedAt, stored.UpdatedAt);

        var refunded = await (await app.Api.PutAsJsonAsync("/api/orders/O1", Order(refunded: 19.90m))).JsonAsync(200);
        Assert.Equal(19.90m, refunded.GetProperty("refundedAmount").GetDecimal());
        Assert.Equal(5980, await app.WithDbAsync(db => Task.FromResult(db.Orders.Single().AmountMinor)));

        var customer = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        Assert.Equal(1, customer.GetProperty("orderCount").GetInt32());
        Assert.Equal("Grüner Tee", customer.GetProperty("orders")[0].GetProperty("lines")[1].GetProperty("productName").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task LinesGivenAgainReplaceTheStoredLines(DatabaseProvider store)
    {
        await using var app = await AppWithCustomersAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/orders/O1", Order())).JsonAsync(201);
        var oneLine = new { customerId = "C1", orderedAt = "2025-06-01T12:30:00Z", amount = 20m, lines = new[] { new { sku = "TEE-1", quantity = 1 } } };
        var updated = await (await app.Api.PutAsJsonAsync("/api/orders/O1", oneLine)).JsonAsync(200);
        Assert.Equal("TEE-1", updated.GetProperty("lines").EnumerateArray().Single().GetProperty("sku").GetString());
        Assert.Equal(1, await app.WithDbAsync(db => Task.FromResult(db.OrderLines.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BatchOrdersAreIdempotent(DatabaseProvider store)
    {
        await using var app = await AppWithCustomersAsync(store);
        var orders = Enumerable.Range(1, 300).Select(i => new
        {
            externalId = $"O{i}", customerId = i % 2 == 0 ? "C1" : "C2", orderedAt = DateTimeOffset.Parse("2025-01-01T00:00:00Z").AddHours(i), amount = i + 0.5m,
        }).ToList();
        Assert.Equal(300, (await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200)).GetProperty("created").GetInt32());
        var again = await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).JsonAsync(200);
        Assert.Equal(300, again.GetProperty("unchanged").GetInt32());
        Assert.Equal(300, await app.WithDbAsync(db => Task.FromResult(db.Orders.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnOrderForAnUnknownCustomerIs422AndTheBatchWritesNothing(DatabaseProvider store)
    {
        await using var app = await AppWithCustomersAsync(store);
        var single = await (await app.Api.PutAsJsonAsync("/api/orders/O1", Order(customer: "ghost"))).ProblemErrorsAsync(422);
        Assert.Contains("customerId", single.Keys);

        var orders = new[] { new { externalId = "O1", customerId = "C1", orderedAt = "2025-01-01T00:00:00Z", amount = 10m },
                             new { externalId = "O2", customerId = "ghost", orderedAt = "2025-01-01T00:00:00Z", amount = 10m } };
        var errors = await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).ProblemErrorsAsync(422);
        Assert.Equal(["orders[1].customerId"], errors.Keys);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Orders.Count())));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task InvalidAmountsAndMissingFieldsAreNamed(DatabaseProvider store)
    {
        await using var app = await AppWithCustomersAsync(store);
        var orders = new object[]
        {
            new { externalId = "O1", customerId = "C1", orderedAt = "2025-01-01T00:00:00Z", amount = -5m },
            new { externalId = "O2", customerId = "C1", orderedAt = "2025-01-01T00:00:00Z", amount = 10.005m },
            new { externalId = "O3", customerId = "C1", orderedAt = "2025-01-01T00:00:00Z", amount = 10m, refundedAmount = 11m },
            new { externalId = "O4", customerId = "C1", amount = 10m, currency = "USD" },
            new { externalId = "O5", customerId = "C1", orderedAt = "2025-01-01T00:00:00Z", amount = 10m, lines = new object[] { new { quantity = 0 } } },
        };
        var errors = await (await app.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).ProblemErrorsAsync(400);
        foreach (var path in new[] { "orders[0].amount", "orders[1].amount", "orders[2].refundedAmount", "orders[3].orderedAt",
                     "orders[3].currency", "orders[4].lines[0].sku", "orders[4].lines[0].quantity" })
            Assert.Contains(path, errors.Keys);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.Orders.Count())));
        await (await app.Api.GetAsync("/api/orders/O1")).ProblemErrorsAsync(404);
    }
}
