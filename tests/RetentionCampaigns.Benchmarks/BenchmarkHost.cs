using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;
using RetentionCampaigns.Metrics;

namespace RetentionCampaigns.Benchmarks;

/// <summary>What every benchmark needs: the product's services on a given database, raw SQL, and options.</summary>
public static class BenchmarkHost
{
    public static ServiceProvider Services(string provider, string connection)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider, ["ConnectionStrings:Retention"] = connection,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddConsole().SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ShopOptions>();
        services.AddOptions<MetricsOptions>();
        services.AddRetentionData(configuration);
        services.AddScoped<CsvImporter>();
        services.AddScoped<MetricsRefresh>();
        services.AddScoped<Kpis.KpiCalculator>();
        services.AddScoped<Kpis.DashboardFigures>();
        return services.BuildServiceProvider();
    }

    public static async Task MigrateAsync(ServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DatabaseMigrator>().MigrateAsync();
    }

    /// <summary>Runs SQL on a connection of its own, closed afterwards; data generation may take long.</summary>
    public static async Task ExecuteAsync(DbConnection connection, string sql)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.Command(sql, timeoutSeconds: 3600);
            await command.ExecuteNonQueryAsync();
        }
    }

    public static string? OptionText(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    public static int Option(string[] args, string name, int fallback) =>
        OptionText(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
