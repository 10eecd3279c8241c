using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Health;

public sealed class HealthTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task ANodeIsHealthyFromItsFirstAnswerWithItsDatabaseAndScheduler(DatabaseProvider store)
    {
        // No wait: the scheduler starts with the host, so the first answer already finds it running.
        await using var app = await RetentionApp.StartAsync(store);
        using var anonymous = app.CreateClient();
        var report = await (await anonymous.GetAsync("/health")).JsonAsync(200);
        Assert.Equal("Healthy", report.GetProperty("status").GetString());
        var checks = report.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("scheduler").GetProperty("status").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ANodeThatLostItsDatabaseAnswers503NamingTheDatabase(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await app.LoseDatabaseAsync();
        using var anonymous = app.CreateClient();
        var report = await (await anonymous.GetAsync("/health")).JsonAsync(503);
        Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
        var database = report.GetProperty("checks").GetProperty("database");
        Assert.Equal("Unhealthy", database.GetProperty("status").GetString());
        Assert.Equal("The database cannot be reached.", database.GetProperty("description").GetString());
    }
}
