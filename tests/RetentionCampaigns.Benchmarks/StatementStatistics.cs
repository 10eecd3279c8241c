using System.Data.Common;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// PostgreSQL's own account of where a benchmark's database time went (pg_stat_statements). The module must be
/// preloaded by the server (<c>shared_preload_libraries</c>, a restart); tests/bench.sh sets that up, and without
/// it the benchmark says how and carries on.
/// </summary>
public static class StatementStatistics
{
    /// <summary>Creates the extension in the benchmark's database and clears its counts; false when the server lacks the module.</summary>
    public static async Task<bool> StartAsync(DbConnection connection)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var preload = connection.Command("SELECT current_setting('shared_preload_libraries')");
            if (!((string)(await preload.ExecuteScalarAsync())!).Contains("pg_stat_statements"))
            {
                Console.WriteLine("(no statement statistics: add pg_stat_statements to PostgreSQL's shared_preload_libraries and restart it; tests/bench.sh does)");
                return false;
            }
            await using var start = connection.Command("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();");
            await start.ExecuteNonQueryAsync();
            return true;
        }
    }

    /// <summary>The five statements of this database with the most execution time since <see cref="StartAsync"/>.</summary>
    public static async Task PrintTopAsync(DbConnection connection, string prefix, int messages)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.Command("""
                SELECT calls, total_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
                FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                ORDER BY total_exec_time DESC LIMIT 5
                """);
            await using var reader = await command.ExecuteReaderAsync();
            Console.WriteLine($"{prefix}: top five statements by execution time (pg_stat_statements):");
            while (await reader.ReadAsync())
            {
                var (calls, milliseconds, rows, query) = (reader.GetInt64(0), reader.GetDouble(1), reader.GetInt64(2), reader.GetString(3));
                Console.WriteLine($"{prefix}:   {milliseconds / 1000:F2} s = {milliseconds * 1000 / messages:N0} µs a message, {calls:N0} calls, {rows:N0} rows: " +
                                  (query.Length > 160 ? query[..160] + "…" : query));
            }
        }
    }
}
