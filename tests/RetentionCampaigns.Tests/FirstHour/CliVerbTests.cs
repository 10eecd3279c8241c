using System.Net.Http.Json;
using System.Text;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>
/// Issue 15, finding 2: every CLI verb crashed under the README's own command (<c>dotnet run --project
/// src/RetentionCampaigns -- VERB</c>): its launch profile's Development environment validates the container.
/// </summary>
public sealed class CliVerbTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task EveryCliVerbRunsUnderTheReadmesCommandAndReadsFilesFromTheCallersDirectory(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var caller = Directory.CreateTempSubdirectory("rc-cli-").FullName;
        try
        {
            var (keyExit, keyOutput) = await CliRunner.RunAsync(app, caller, "apikey", "create", "shop-sync");
            Assert.True(keyExit == 0, keyOutput);
            var key = keyOutput.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("rc_", StringComparison.Ordinal));
            using var client = app.CreateClient();
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            await (await client.GetAsync("/api/customers")).JsonAsync(200);

            await File.WriteAllTextAsync(Path.Combine(caller, "customers.csv"), "external_id,email,first_name,locale\nC1,c1@beispiel.de,Änne,de\n", Encoding.UTF8);
            await File.WriteAllTextAsync(Path.Combine(caller, "orders.csv"), "order_id,customer_id,ordered_at,amount\nO1,C1,2026-05-01T10:00:00Z,42.50\n", Encoding.UTF8);
            var (customersExit, customersOutput) = await CliRunner.RunAsync(app, caller, "import", "customers", "customers.csv");
            Assert.True(customersExit == 0, customersOutput);
            Assert.Contains("accepted 1", customersOutput);
            var (ordersExit, ordersOutput) = await CliRunner.RunAsync(app, caller, "import", "orders", "orders.csv");
            Assert.True(ordersExit == 0, ordersOutput);

            var (metricsExit, metricsOutput) = await CliRunner.RunAsync(app, caller, "metrics", "refresh");
            Assert.True(metricsExit == 0, metricsOutput);
            Assert.Contains("Metrics of 1 customers", metricsOutput);

            var (sendExit, sendOutput) = await CliRunner.RunAsync(app, caller, "send-test", "--to", "me@shop.example", "--customer", "C1");
            Assert.True(sendExit == 0, sendOutput);
            Assert.Single(Directory.GetFiles(app.Outbox, "*.eml"));
            // Finding 16: keys are listed and revoked from the CLI too.
            var (listExit, listOutput) = await CliRunner.RunAsync(app, caller, "apikey", "list");
            Assert.True(listExit == 0, listOutput);
            var row = listOutput.Split('\n').Single(l => l.Contains("shop-sync"));
            Assert.Contains(key[..10], row);
            Assert.Contains("active", row);
            var (revokeExit, revokeOutput) = await CliRunner.RunAsync(app, caller, "apikey", "revoke", key[..10]);
            Assert.True(revokeExit == 0, revokeOutput);
            Assert.Equal(401, (int)(await client.GetAsync("/api/customers")).StatusCode);

            // Nothing of the app's landed in the caller's directory but what it was told to read.
            Assert.Equal(["customers.csv", "orders.csv"], Directory.GetFiles(caller).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(caller, recursive: true);
        }
    }
}
