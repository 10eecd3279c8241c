using System.Net.Http.Json;
using System.Text;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Tests.Cli;

/// <summary>The CLI verbs, run as the real executable against the same database as a running app.</summary>
public sealed class CommandLineTests
{
    /// <summary>The README's form, from the test assembly's folder.</summary>
    static Task<(int Exit, string Output)> RunAsync(RetentionApp app, params string[] args) => CliRunner.RunAsync(app, AppContext.BaseDirectory, args);

    [Theory, ClassData(typeof(BothStores))]
    public async Task ApiKeyCreatePrintsAKeyThatTheApiAccepts(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (exit, output) = await RunAsync(app, "apikey", "create", "shop-sync");
        Assert.Equal(0, exit);
        var key = output.Split('\n').Select(l => l.Trim()).Last(l => l.Length > 0); // dotnet run may print its launch profile first
        Assert.StartsWith("rc_", key);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        await (await client.GetAsync("/api/customers")).JsonAsync(200);
        Assert.DoesNotContain(key, await app.WithDbAsync(db => Task.FromResult(string.Join(",", db.ApiKeys.Select(k => k.KeyHash)))));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ImportCustomersReportsRowsAndRejectedLines(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "external_id,email,first_name\nC1,a@beispiel.de,Änne\nC2,broken,Bo\n", Encoding.UTF8);
        var (exit, output) = await RunAsync(app, "import", "customers", file);
        File.Delete(file);
        Assert.Equal(0, exit);
        Assert.Contains("accepted 1, rejected 1", output);
        Assert.Contains("line 3, column email", output);
        var customer = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        Assert.Equal("Änne", customer.GetProperty("customer").GetProperty("firstName").GetString());

        var (missingExit, missingOutput) = await RunAsync(app, "import", "customers", "/no/such/file.csv");
        Assert.Equal(2, missingExit);
        Assert.Contains("No such file", missingOutput);
        var (usageExit, usageOutput) = await RunAsync(app, "frobnicate");
        Assert.Equal(2, usageExit);
        Assert.Contains("Usage:", usageOutput);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task SendTestWritesTheTemplatesTestEmailToTheOutbox(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/K1", new { email = "k1@example.com", firstName = "Ann", locale = "en" })).JsonAsync(201);
        var (exit, output) = await RunAsync(app, "send-test", "--to", "me@shop.example", "--template", "loyalty-thank-you", "--customer", "K1");
        Assert.True(exit == 0, output);
        Assert.Contains("Sent loyalty-thank-you v1 (en) to me@shop.example through the pickup folder", output);
        var eml = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(app.Outbox, "*.eml")));
        Assert.Contains("Subject: [Test] Thank you, Ann!", eml);

        var (badExit, badOutput) = await RunAsync(app, "send-test", "--to", "nobody");
        Assert.Equal(1, badExit);
        Assert.Contains("to: ", badOutput);
        Assert.Equal(2, (await RunAsync(app, "send-test", "--template", "win-back")).Exit);
    }
}
