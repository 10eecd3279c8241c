using Microsoft.EntityFrameworkCore;

namespace RetentionCampaigns.Data;

public enum DatabaseProvider { Sqlite, Postgres }

public static class DataSetup
{
    public const string DefaultSqliteConnection = "Data Source=retention.db";

    /// <summary>The configured store and its connection string (the SQLite default when none is given).</summary>
    public static (bool Postgres, string ConnectionString) Connection(IConfiguration configuration)
    {
        var providerName = configuration["Database:Provider"] ?? nameof(DatabaseProvider.Sqlite);
        if (!Enum.TryParse<DatabaseProvider>(providerName, ignoreCase: true, out var provider))
            throw new InvalidOperationException($"Database__Provider must be Sqlite or Postgres, not '{providerName}'.");
        var connectionString = configuration.GetConnectionString("Retention");
        if (provider == DatabaseProvider.Postgres)
            return (true, connectionString ?? throw new InvalidOperationException(
                "Database__Provider is Postgres: set ConnectionStrings__Retention, e.g. 'Host=localhost;Database=retention;Username=retention;Password=...'."));
        return (false, connectionString ?? DefaultSqliteConnection);
    }

    public static IServiceCollection AddRetentionData(this IServiceCollection services, IConfiguration configuration)
    {
        var (postgres, connectionString) = Connection(configuration);
        if (postgres) connectionString = WithAutoPrepare(connectionString);
        // Pooled contexts: setting up a context's internal services for every request was an eighth of a small
        // request's CPU (the unsubscribe benchmark). A context goes back to the pool reset, so nothing carries over.
        services.AddDbContextPool<RetentionDb>(options =>
        {
            if (postgres) options.UseNpgsql(connectionString);
            else options.UseSqlite(connectionString);
        });
        services.AddScoped<DatabaseMigrator>();
        return services;
    }

    /// <summary>
    /// Lets Npgsql prepare the statements we run again and again (the send loop's ledger writes, the claim): parsing
    /// and planning them each time was a large share of PostgreSQL's work per message. An explicit setting wins.
    /// </summary>
    static string WithAutoPrepare(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase)) builder.MaxAutoPrepare = 64;
        // The app keeps no session state (only SET LOCAL inside transactions), so a pooled connection needs no reset
        // round trip when it is taken again; at a few statements per request that reset was a good part of the work.
        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)) builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }
}
