using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Demo;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 4: an interrupted first <c>--demo</c> start left a half-seeded shop for good.</summary>
public sealed class DemoSeedTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task AnInterruptedDemoSeedIsRedoneWholeAndASecondStartSaysSoWithAWorkingKey(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        // What a seed killed after its customers leaves: the seed marked started, customers, no orders, no key.
        await app.WithDbAsync(async db =>
        {
            db.DemoShop.Add(new DemoSeed { Id = 1, StartedAt = DateTime.UtcNow.AddMinutes(-5) });
            await db.SaveChangesAsync();
            return 0;
        });
        var half = Enumerable.Range(1, 50).Select(i => new { externalId = $"C{i:D5}", email = $"c{i}@beispiel.de" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = half })).JsonAsync(200);

        var lines = new List<string>();
        var first = await app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(new SynchronousProgress(lines), default));

        Assert.False(first.AlreadySeeded);
        Assert.Contains(lines, l => l.Contains("interrupted"));
        Assert.Contains(lines, l => l.Contains("orders"));
        Assert.Equal(DemoShop.CustomerCount, await app.WithDbAsync(db => db.Customers.CountAsync()));
        Assert.True(await app.WithDbAsync(db => db.Orders.CountAsync()) > 30_000);
        Assert.NotNull((await app.WithDbAsync(db => db.DemoShop.SingleAsync())).CompletedAt);

        var second = await app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(null, default));
        Assert.True(second.AlreadySeeded);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", second.Key);
        await (await client.GetAsync("/api/customers/C00001")).JsonAsync(200);
        // One demo key at a time: a start does not pile up full-access keys.
        Assert.Equal(1, await app.WithDbAsync(db => db.ApiKeys.CountAsync(k => k.Name == DemoShop.KeyName && k.RevokedAt == null)));
        client.DefaultRequestHeaders.Authorization = new("Bearer", first.Key);
        Assert.Equal(401, (int)(await client.GetAsync("/api/customers/C00001")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheDemoIsNeverSeededIntoAShopsOwnData(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/OWN1", new { email = "own@shop.example" })).JsonAsync(201);
        var refused = await Assert.ThrowsAsync<DemoRefused>(() => app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(null, default)));
        Assert.Contains("seeded only into an empty database", refused.Message);
        Assert.Equal(1, await app.WithDbAsync(db => db.Customers.CountAsync()));
    }

    sealed class SynchronousProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
