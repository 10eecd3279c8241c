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
        services.AddDbContext<RetentionDb>(options =>
        {
            if (postgres) options.UseNpgsql(connectionString);
            else options.UseSqlite(connectionString);
        });
        services.AddScoped<DatabaseMigrator>();
        return services;
    }
}
