using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Tests.Scenarios;

/// <summary>Scenarios start real processes and load the machine: they run alone, one after another.</summary>
[CollectionDefinition("Scenarios", DisableParallelization = true)]
public sealed class ScenarioCollection;

/// <summary>
/// One scenario's world: a database of its own with customers who all consented, a counting SMTP server, and app
/// processes (nodes) started on that database as an operator would run them.
/// </summary>
public sealed class Scenario : IAsyncDisposable
{
    readonly TestDatabase database;
    readonly string apiKey;
    readonly Dictionary<string, string> settings;
    readonly List<AppProcess> nodes = [];

    public DeliveryCounter Server { get; }
    public int Customers { get; }

    Scenario(TestDatabase database, DeliveryCounter server, Dictionary<string, string> settings, string apiKey, int customers) =>
        (this.database, Server, this.settings, this.apiKey, Customers) = (database, server, settings, apiKey, customers);

    public static async Task<Scenario> CreateAsync(DatabaseProvider store, int customers, string[]? faults = null, Dictionary<string, string>? more = null)
    {
        var database = await TestDatabase.CreateAsync(store);
        var server = await DeliveryCounter.StartAsync(faults ?? []);
        var extra = server.AppSettings();
        foreach (var (key, value) in more ?? []) extra[key] = value;
        var settings = AppProcess.Settings(store.ToString(), database.ConnectionString, extra);
        var apiKey = await AppProcess.CreateApiKeyAsync(settings, "scenario"); // migrates the database too
        var scenario = new Scenario(database, server, settings, apiKey, customers);
        await scenario.ExecuteAsync(ScenarioShop.SeedSql(store == DatabaseProvider.Postgres, customers));
        return scenario;
    }

    public async Task<AppProcess> StartNodeAsync(string name)
    {
        var node = await AppProcess.StartAsync(name, settings, apiKey);
        nodes.Add(node);
        return node;
    }

    /// <summary>A one-off campaign to every customer, no holdout, no quiet hours, sent two seconds from now.</summary>
    public async Task<long> StartCampaignAsync(AppProcess node, object? policy = null)
    {
        var segment = await (await node.Api.PostAsJsonAsync("/api/segments",
            new { name = "Everyone", rule = new { field = "locale", op = "in", value = new[] { "de", "en" } } })).JsonAsync(201);
        var campaign = await (await node.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Scenario", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back", holdoutPercent = 0,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddSeconds(2) },
            policy = policy ?? new { quietFrom = "", quietUntil = "" },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await node.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        return id;
    }

    /// <summary>Waits until the campaign completes (asking whichever node is alive) and returns its run report.</summary>
    public async Task<JsonElement> WaitForCompletionAsync(long campaignId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var node = nodes.LastOrDefault(n => !n.HasExited) ?? throw new InvalidOperationException("no node is running");
            try
            {
                var state = (await (await node.Api.GetAsync($"/api/campaigns/{campaignId}")).JsonAsync(200)).GetProperty("state").GetString();
                if (state == "completed") return (await (await node.Api.GetAsync($"/api/campaigns/{campaignId}/runs")).JsonAsync(200))[0];
            }
            catch (HttpRequestException) { } // the node is going down
            await Task.Delay(250);
        }
        throw new TimeoutException($"campaign {campaignId} did not complete within {timeout}; server has {Server.Count} messages.\n{NodeOutput()}");
    }

    /// <summary>The last lines each node printed, for a failure message.</summary>
    public string NodeOutput() => string.Join("\n", nodes.Select(n => $"--- {n.Name}:\n" + string.Join("\n", n.Output.Split('\n').TakeLast(40))));

    public async Task<List<(long RunId, long CustomerId, string Status, string? Reason)>> LedgerAsync()
    {
        await using var db = database.CreateContext();
        return (await db.Deliveries.AsNoTracking().Select(d => new { d.RunId, d.CustomerId, d.Status, d.Reason }).ToListAsync())
            .Select(d => (d.RunId, d.CustomerId, d.Status, d.Reason)).ToList();
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var db = database.CreateContext();
        await db.Database.OpenConnectionAsync();
        await db.Database.GetDbConnection().ExecuteAsync(sql);
    }

    /// <summary>
    /// The exactly-once check: every sent delivery arrived exactly once, every in-doubt one at most once, nothing
    /// else arrived, and no delivery arrived twice. Returns the counts for the scenario's own checks.
    /// </summary>
    public async Task<(int Sent, int InDoubt, int InDoubtArrived, int Arrived)> AssertExactlyOnceAsync()
    {
        var ledger = await LedgerAsync();
        var arrived = Server.Accepted().GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        var twice = arrived.Where(a => a.Value > 1).Select(a => $"{a.Key} x{a.Value}").ToList();
        Assert.True(twice.Count == 0, "arrived more than once: " + string.Join(", ", twice.Take(20)));
        var byId = ledger.ToDictionary(d => $"{d.RunId}-{d.CustomerId}");
        var strangers = arrived.Keys.Where(id => !byId.ContainsKey(id)).ToList();
        Assert.True(strangers.Count == 0, "arrived without a ledger row: " + string.Join(", ", strangers.Take(20)));
        var sentMissing = ledger.Where(d => d.Status == "sent" && !arrived.ContainsKey($"{d.RunId}-{d.CustomerId}")).ToList();
        Assert.True(sentMissing.Count == 0, $"{sentMissing.Count} deliveries are 'sent' in the ledger but never arrived");
        var unsentArrived = ledger.Where(d => d.Status is not ("sent" or "in_doubt") && arrived.ContainsKey($"{d.RunId}-{d.CustomerId}")).ToList();
        Assert.True(unsentArrived.Count == 0, "arrived although the ledger says otherwise: " + string.Join(", ", unsentArrived.Take(20)));
        var inDoubt = ledger.Where(d => d.Status == "in_doubt").ToList();
        return (ledger.Count(d => d.Status == "sent"), inDoubt.Count, inDoubt.Count(d => arrived.ContainsKey($"{d.RunId}-{d.CustomerId}")), arrived.Count);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in nodes) await node.DisposeAsync();
        Server.Dispose();
        await database.DisposeAsync();
    }
}
