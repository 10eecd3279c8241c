using System.Collections.Concurrent;

namespace RetentionCampaigns.Imports;

/// <summary>How far a running import is: bytes of the file read of its size, rows read.</summary>
public sealed record ImportStanding(long BytesRead, long TotalBytes, long RowsRead);

/// <summary>
/// Imports started from the UI run in the background so the page can show their progress; the file was spooled to
/// a temporary file by the upload, which is deleted when the import ends. Progress lives in this node's memory:
/// the report itself (counts, rejected rows) is in the database for every node.
/// </summary>
public sealed class ImportJobs(IServiceScopeFactory scopes, IHostApplicationLifetime lifetime, ILogger<ImportJobs> log)
{
    readonly ConcurrentDictionary<long, ImportStanding> running = new();

    public ImportStanding? Standing(long id) => running.TryGetValue(id, out var standing) ? standing : null;

    /// <summary>Starts the import of the spooled file and returns its id once its report exists.</summary>
    public async Task<long> StartAsync(ImportKind kind, string spooledFile, string? fileName)
    {
        var total = new FileInfo(spooledFile).Length;
        var started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new Progress<ImportProgress>(p => { if (p is not null) Update(started, p, total); });
        _ = Task.Run(async () =>
        {
            long? id = null;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var importer = scope.ServiceProvider.GetRequiredService<CsvImporter>();
                await importer.ImportAsync(kind, spooledFile, fileName, progress, lifetime.ApplicationStopping, runId =>
                {
                    id = runId;
                    running[runId] = new ImportStanding(0, total, 0);
                    started.TrySetResult(runId);
                });
            }
            catch (Exception e)
            {
                log.LogError(e, "Import of {File} failed", fileName);
                started.TrySetException(e);
            }
            finally
            {
                if (id is { } done) running.TryRemove(done, out _);
                File.Delete(spooledFile);
            }
        });
        return await started.Task;
    }

    void Update(TaskCompletionSource<long> started, ImportProgress p, long total)
    {
        if (started.Task.IsCompletedSuccessfully && running.ContainsKey(started.Task.Result))
            running[started.Task.Result] = new ImportStanding(p.BytesRead, total, p.RowsRead);
    }
}
