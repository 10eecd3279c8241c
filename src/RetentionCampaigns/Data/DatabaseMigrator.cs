using System.Data.Common;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace RetentionCampaigns.Data;

/// <summary>
/// Applies the embedded versioned SQL scripts (Data/Migrations/{Provider}/NNNN_name.sql) in order, each in its
/// own transaction. Safe when several nodes start at once: PostgreSQL takes an advisory lock, SQLite a write
/// lock (BEGIN IMMEDIATE) per script. An applied script whose text has changed stops start-up.
/// </summary>
public sealed class DatabaseMigrator(RetentionDb db, ILogger<DatabaseMigrator> log)
{
    const long AdvisoryLockKey = 0x52435F4D4947; // "RC_MIG"

    public sealed record Script(int Version, string Name, string Sql, string Checksum);

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        var postgres = db.IsPostgres;
        var scripts = LoadScripts(postgres ? "Postgres" : "Sqlite");
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync(ct);
        try
        {
            if (postgres) await connection.ExecuteAsync($"SELECT pg_advisory_lock({AdvisoryLockKey})", ct: ct);
            else await connection.ExecuteAsync("PRAGMA journal_mode=WAL", ct: ct);

            await connection.ExecuteAsync(postgres
                ? "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                : "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)", ct: ct);

            foreach (var script in scripts)
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                object? applied;
                await using (var select = connection.Command($"SELECT checksum FROM schema_migrations WHERE version = {script.Version}", tx))
                    applied = await select.ExecuteScalarAsync(ct);
                if (applied is string checksum)
                {
                    if (checksum != script.Checksum)
                        throw new InvalidOperationException(
                            $"Migration {script.Version} ({script.Name}) was changed after it was applied. Add a new migration instead.");
                    continue;
                }
                await connection.ExecuteAsync(script.Sql, tx, ct: ct);
                await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name, checksum) VALUES (@v, @n, @c)", tx,
                    [("@v", script.Version), ("@n", script.Name), ("@c", script.Checksum)], ct);
                await tx.CommitAsync(ct);
                log.LogInformation("Applied migration {Version} {Name}", script.Version, script.Name);
            }
        }
        finally
        {
            if (postgres && connection.State == System.Data.ConnectionState.Open)
                await connection.ExecuteAsync($"SELECT pg_advisory_unlock({AdvisoryLockKey})", ct: CancellationToken.None);
            await connection.CloseAsync();
        }
    }

    public static IReadOnlyList<Script> LoadScripts(string provider)
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Data.Migrations.{provider}.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => ReadScript(assembly, n, n[prefix.Length..^4]))
            .OrderBy(s => s.Version)
            .ToList();
    }

    static Script ReadScript(Assembly assembly, string resource, string fileName)
    {
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        var sql = reader.ReadToEnd().Replace("\r\n", "\n");
        var separator = fileName.IndexOf('_');
        var version = int.Parse(fileName[..separator]);
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
        return new Script(version, fileName[(separator + 1)..], sql, checksum);
    }
}
