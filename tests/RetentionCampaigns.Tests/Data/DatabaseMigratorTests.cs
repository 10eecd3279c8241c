using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Data;

public sealed class DatabaseMigratorTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task NodesStartingAtOnceApplyEachMigrationExactlyOnce(DatabaseProvider store)
    {
        await using var database = await TestDatabase.CreateAsync(store);
        var nodes = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await using var db = database.CreateContext();
            await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        }));
        await Task.WhenAll(nodes);

        await using var check = database.CreateContext();
        var applied = await check.Database.SqlQueryRaw<int>("SELECT version AS \"Value\" FROM schema_migrations").ToListAsync();
        var scripts = DatabaseMigrator.LoadScripts(store.ToString());
        Assert.Equal(scripts.Select(s => s.Version), applied.Order());
        Assert.Equal(0, await check.Customers.CountAsync());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAppliedMigrationThatWasEditedStopsStartUp(DatabaseProvider store)
    {
        await using var database = await TestDatabase.CreateAsync(store);
        await using (var db = database.CreateContext())
            await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        await using (var db = database.CreateContext())
        {
            await db.Database.ExecuteSqlRawAsync("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync());
            Assert.Contains("was changed after it was applied", error.Message);
        }
    }

    [Fact]
    public void BothProvidersHaveTheSameMigrations() =>
        Assert.Equal(DatabaseMigrator.LoadScripts("Sqlite").Select(s => (s.Version, s.Name)), DatabaseMigrator.LoadScripts("Postgres").Select(s => (s.Version, s.Name)));
}
