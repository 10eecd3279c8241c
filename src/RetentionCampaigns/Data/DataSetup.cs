using Microsoft.EntityFrameworkCore;

namespace RetentionCampaigns.Data;

public enum DatabaseProvider { Sqlite, Postgres }

public static class DataSetup
{
    public const string DefaultSqliteConnection = "Data Source=retention.db";

    public static IServiceCollection AddRetentionData(this IServiceCollection services, IConfiguration configuration)
    {
        var providerName = configuration["Database:Provider"] ?? nameof(DatabaseProvider.Sqlite);
        if (!Enum.TryParse<DatabaseProvider>(providerName, ignoreCase: true, out var provider))
            throw new InvalidOperationException($"Database__Provider must be Sqlite or Postgres, not '{providerName}'.");
        var connectionString = configuration.GetConnectionString("Retention");

        services.AddDbContext<RetentionDb>(options =>
        {
            if (provider == DatabaseProvider.Postgres)
                options.UseNpgsql(connectionString ?? throw new InvalidOperationException(
                    "Database__Provider is Postgres: set ConnectionStrings__Retention, e.g. 'Host=localhost;Database=retention;Username=retention;Password=...'."));
            else
                options.UseSqlite(connectionString ?? DefaultSqliteConnection);
        });
        services.AddScoped<DatabaseMigrator>();
        return services;
    }
}
