using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests;

/// <summary>Every database test runs once per store.</summary>
public sealed class BothStores : TheoryData<DatabaseProvider>
{
    public BothStores()
    {
        Add(DatabaseProvider.Sqlite);
        Add(DatabaseProvider.Postgres);
    }
}

/// <summary>
/// The app on a fresh database of its own: a temporary SQLite file, or a new PostgreSQL database on the server
/// named by RC_TEST_POSTGRES (the test command starts one). The database is dropped when the app is disposed.
/// </summary>
public sealed class RetentionApp : WebApplicationFactory<Program>
{
    public static string PostgresAdmin =>
        Environment.GetEnvironmentVariable("RC_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";

    readonly TestDatabase database;
    readonly string connectionString;

    public DatabaseProvider Provider { get; }
    public HttpClient Api { get; private set; } = null!;
    /// <summary>The pickup transport's folder, one per app.</summary>
    public string Outbox { get; } = Path.Combine(Path.GetTempPath(), "rc-outbox-" + Guid.NewGuid().ToString("N"));

    readonly IReadOnlyDictionary<string, string> settings;
    readonly bool ownsDatabase;

    RetentionApp(DatabaseProvider provider, TestDatabase database, IReadOnlyDictionary<string, string>? settings, bool ownsDatabase = true)
    {
        Provider = provider;
        this.database = database;
        this.ownsDatabase = ownsDatabase;
        this.settings = settings ?? new Dictionary<string, string>();
        connectionString = database.ConnectionString;
    }

    /// <param name="settings">Configuration on top of the test defaults, e.g. Mail:Transport.</param>
    public static async Task<RetentionApp> StartAsync(DatabaseProvider provider, IReadOnlyDictionary<string, string>? settings = null)
    {
        var database = await TestDatabase.CreateAsync(provider);
        var app = new RetentionApp(provider, database, settings);
        app.Api = app.CreateClient();
        app.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await app.CreateApiKeyAsync());
        return app;
    }

    public string ConnectionString => connectionString;

    /// <summary>
    /// Another app process on this app's database, as after a restart or on a second node; it leaves the
    /// database to this app. Dispose this one first to simulate a node going down.
    /// </summary>
    public async Task<RetentionApp> StartAnotherOnSameDatabaseAsync()
    {
        var other = new RetentionApp(Provider, database, settings, ownsDatabase: false);
        other.Api = other.CreateClient();
        other.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await other.CreateApiKeyAsync());
        return other;
    }

    /// <summary>The database goes away under the running app, as when its server is lost.</summary>
    public Task LoseDatabaseAsync() => database.LoseAsync();

    /// <summary>Stops this app's host without touching its database (a node going down).</summary>
    public async Task StopAsync() => await base.DisposeAsync();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Database:Provider", Provider.ToString());
        builder.UseSetting("ConnectionStrings:Retention", connectionString);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Mail:PickupDirectory", Outbox);
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }

    public async Task<string> CreateApiKeyAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await ApiKeyService.CreateAsync(scope.ServiceProvider.GetRequiredService<RetentionDb>(), "test", TimeProvider.System);
    }

    public async Task<T> WithDbAsync<T>(Func<RetentionDb, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<RetentionDb>());
    }

    public async Task<T> ServiceAsync<TService, T>(Func<TService, Task<T>> work) where TService : notnull
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<TService>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (ownsDatabase) await database.DisposeAsync();
        if (Directory.Exists(Outbox)) Directory.Delete(Outbox, recursive: true);
    }
}

/// <summary>An empty database of its own: a temporary SQLite file, or a new database on the PostgreSQL server.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    readonly string? postgresDatabase;
    readonly string? sqliteFile;

    public DatabaseProvider Provider { get; }
    public string ConnectionString { get; }

    TestDatabase(DatabaseProvider provider, string connectionString, string? postgresDatabase, string? sqliteFile) =>
        (Provider, ConnectionString, this.postgresDatabase, this.sqliteFile) = (provider, connectionString, postgresDatabase, sqliteFile);

    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            var file = Path.Combine(Path.GetTempPath(), "rc-tests", $"{Guid.NewGuid():N}.db");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            return new TestDatabase(provider, $"Data Source={file}", null, file);
        }
        var name = $"rc_test_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(RetentionApp.PostgresAdmin))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        return new TestDatabase(provider, new NpgsqlConnectionStringBuilder(RetentionApp.PostgresAdmin) { Database = name }.ConnectionString, name, null);
    }

    /// <summary>A context on this database, outside any app, for tests of start-up work such as migrations.</summary>
    public RetentionDb CreateContext()
    {
        var options = new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<RetentionDb>();
        if (Provider == DatabaseProvider.Postgres) Microsoft.EntityFrameworkCore.NpgsqlDbContextOptionsBuilderExtensions.UseNpgsql(options, ConnectionString);
        else Microsoft.EntityFrameworkCore.SqliteDbContextOptionsBuilderExtensions.UseSqlite(options, ConnectionString);
        return new RetentionDb(options.Options);
    }

    /// <summary>
    /// Drops the PostgreSQL database; puts a directory where the SQLite file was, so that opening it fails
    /// rather than creating an empty one.
    /// </summary>
    public async Task LoseAsync()
    {
        if (postgresDatabase is not null) await DropPostgresAsync();
        if (sqliteFile is not null)
        {
            DeleteSqliteFiles();
            Directory.CreateDirectory(sqliteFile);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (postgresDatabase is not null) await DropPostgresAsync();
        if (sqliteFile is not null)
        {
            if (Directory.Exists(sqliteFile)) Directory.Delete(sqliteFile);
            DeleteSqliteFiles();
        }
    }

    async Task DropPostgresAsync()
    {
        // This database's pool only: clearing every pool would reach into the tests running beside this one.
        await using (var own = new NpgsqlConnection(ConnectionString)) NpgsqlConnection.ClearPool(own);
        await using var admin = new NpgsqlConnection(RetentionApp.PostgresAdmin);
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {postgresDatabase} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    void DeleteSqliteFiles()
    {
        // This file's pool only. Clearing every pool (ClearAllPools) races with the tests running beside this one:
        // Microsoft.Data.Sqlite takes a connection being opened or returned at that moment for a leaked one.
        using (var own = new Microsoft.Data.Sqlite.SqliteConnection(ConnectionString)) Microsoft.Data.Sqlite.SqliteConnection.ClearPool(own);
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(sqliteFile + suffix);
        // The scheduler's store beside it (SchedulingSetup) and its owner lock.
        var jobs = RetentionCampaigns.Scheduling.SchedulingSetup.SqliteJobsFile($"Data Source={sqliteFile}");
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal", ".lock" }) File.Delete(jobs + suffix);
    }
}

public static class ProblemAssertions
{
    /// <summary>Reads an RFC 7807 answer and returns its <c>errors</c> object keyed by field path.</summary>
    public static async Task<Dictionary<string, string[]>> ProblemErrorsAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(status, json.RootElement.GetProperty("status").GetInt32());
        return json.RootElement.TryGetProperty("errors", out var errors)
            ? errors.Deserialize<Dictionary<string, string[]>>()!
            : [];
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
