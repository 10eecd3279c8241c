using System.Data.Common;

namespace RetentionCampaigns.Data;

/// <summary>Raw SQL where set-based work needs it (migrations, metrics, KPIs): one way to build a command.</summary>
public static class SqlCommands
{
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? tx = null,
        IEnumerable<(string Name, object? Value)>? parameters = null, int timeoutSeconds = 600)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.CommandTimeout = timeoutSeconds;
        return command.WithParameters(parameters ?? []);
    }

    /// <summary>Adds named parameters to a command (null as DBNull).</summary>
    public static DbCommand WithParameters(this DbCommand command, IEnumerable<(string Name, object? Value)> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        return command;
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, string sql, DbTransaction? tx = null,
        IEnumerable<(string Name, object? Value)>? parameters = null, CancellationToken ct = default)
    {
        await using var command = connection.Command(sql, tx, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
