using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Hangfire.States;
using Hangfire.Storage.SQLite;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Scheduling;

/// <summary>Section <c>Scheduling</c>.</summary>
public sealed class SchedulingOptions
{
    /// <summary>When the nightly metrics refresh runs (cron, in the shop's time zone): 02:30 by default.</summary>
    public string MetricsRefreshCron { get; set; } = "30 2 * * *";
    /// <summary>
    /// Jobs one node runs at once besides sending (runs, imports, refreshes): Hangfire's worker count. Send jobs have
    /// workers of their own, as many as fill the node's send window (<see cref="SendWindow.JobsAtOnce"/>).
    /// </summary>
    public int MaxConcurrentJobs { get; set; } = 8;
    /// <summary>
    /// How often an idle worker looks for a job another node enqueued (PostgreSQL). Hangfire's 15 s default made a
    /// send job handed on to another node wait up to 15 s.
    /// </summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// How often due delayed jobs (one-off campaigns, retries) and recurring slots are looked for (Hangfire's default
    /// 15 s). At 5 s a one-off campaign's first message came 4.6-4.9 s after its time (Quartz: 3.4-3.9 s); a look
    /// costs each node one small query a second.
    /// </summary>
    public TimeSpan SchedulePollingInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// PostgreSQL: how long a job fetched by a node that stopped answering stays invisible before another node takes
    /// it. Sliding: a live node keeps extending it, so a job longer than this still runs once (default 30 min).
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>How often a node says it is alive; a node silent for <see cref="ServerTimeout"/> is removed from the list.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan ServerTimeout { get; set; } = TimeSpan.FromMinutes(1);
    /// <summary>
    /// The SQLite store: Hangfire's tables live in a file of their own beside the database (<c>…-jobs.db</c>) unless
    /// set. Single process only (no sliding invisibility, jobs ran twice with two processes on one file).
    /// </summary>
    public string? SqliteFile { get; set; }
}

/// <summary>
/// Hangfire with a persistent store: PostgreSQL (schema <c>hangfire</c>) shared by every node, SQLite for the embedded
/// single node. The services are registered against our own storage instance rather than Hangfire's global
/// configuration, so that two hosts in one process (the tests) never share a store.
/// </summary>
public static class SchedulingSetup
{
    public const string MetricsRefreshId = "metrics-refresh", SignupExpiryId = "signup-expiry", ReferralRewardsId = "referral-rewards",
        BounceMailboxId = "bounce-mailbox";

    static readonly Lazy<bool> Serialization = new(() =>
    {
        // Process-wide in Hangfire, the same for every host: how job arguments are written to the store.
        GlobalConfiguration.Configuration.SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer().UseRecommendedSerializerSettings();
        return true;
    });

    /// <param name="runScheduler">
    /// False for the CLI verbs: jobs can be created (the services resolve) but this process runs none.
    /// </param>
    public static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration, bool runScheduler)
    {
        _ = Serialization.Value;
        var options = configuration.GetSection("Scheduling").Get<SchedulingOptions>() ?? new SchedulingOptions();
        services.AddSingleton(options);
        services.AddSingleton<SchedulerStatus>();
        var (postgres, connectionString) = DataSetup.Connection(configuration);
        services.AddSingleton<JobStore>(provider => postgres
            ? JobStore.Postgres(connectionString, options)
            : JobStore.Sqlite(SqliteJobsFile(connectionString, options), options));
        services.AddSingleton<JobStorage>(provider => provider.GetRequiredService<JobStore>().Storage);
        services.AddSingleton<IBackgroundJobClient>(provider => new BackgroundJobClient(provider.GetRequiredService<JobStorage>()));
        services.AddSingleton<IRecurringJobManager>(provider => new RecurringJobManager(provider.GetRequiredService<JobStorage>()));
        // The dashboard asks for this to know Hangfire was set up.
        services.AddSingleton<IGlobalConfiguration>(GlobalConfiguration.Configuration);
        services.AddSingleton(_ => Hangfire.Dashboard.DashboardRoutes.Routes);
        services.AddScoped<CampaignSchedules>();
        if (!runScheduler) return services;
        services.AddHostedService(provider => new SchedulerHost(provider, options, provider.GetRequiredService<SchedulerStatus>()));
        services.AddHealthChecks().AddCheck<SchedulerHealthCheck>("scheduler");
        return services;
    }

    /// <summary>The SQLite store's file: beside the database, named after it (the tests and benchmarks clean it up by this rule too).</summary>
    public static string SqliteJobsFile(string connectionString, SchedulingOptions? options = null)
    {
        if (options?.SqliteFile is { Length: > 0 } configured) return Path.GetFullPath(configured);
        var database = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString).DataSource;
        return Path.GetFullPath(Path.ChangeExtension(database, null) + "-jobs.db");
    }

    /// <summary>The system's own recurring jobs, each with its schedule; added or updated at every start.</summary>
    internal static void AddSystemJobs(IRecurringJobManager recurring, SchedulingOptions options, IConfiguration configuration)
    {
        var shop = configuration.GetSection("Shop").Get<ShopOptions>() ?? new ShopOptions();
        var bounces = configuration.GetSection("Mail:Bounces").Get<Bounces.BounceOptions>() ?? new Bounces.BounceOptions();
        var shopZone = TimeZoneInfo.FindSystemTimeZoneById(shop.TimeZone);
        // Relaxed: a slot missed while every node was down runs once when one is back, not once per missed slot.
        RecurringJobOptions In(TimeZoneInfo zone) => new() { TimeZone = zone, MisfireHandling = MisfireHandlingMode.Relaxed };
        recurring.AddOrUpdate<MetricsRefreshJob>(MetricsRefreshId, job => job.RunAsync(CancellationToken.None),
            MetricsRefreshCron(options.MetricsRefreshCron), In(shopZone));
        // Unconfirmed sign-ups are deleted hourly once expired.
        recurring.AddOrUpdate<Signups.SignupExpiryJob>(SignupExpiryId, job => job.RunAsync(CancellationToken.None), "0 * * * *", In(TimeZoneInfo.Utc));
        // Referral rewards fall due as review periods end; a look every five minutes is soon enough.
        recurring.AddOrUpdate<Referrals.ReferralRewardJob>(ReferralRewardsId, job => job.RunAsync(CancellationToken.None), "*/5 * * * *", In(TimeZoneInfo.Utc));
        // The bounce mailbox is read only when one is configured.
        if (bounces.Mailbox.Enabled)
            recurring.AddOrUpdate<Bounces.BouncePollJob>(BounceMailboxId, job => job.RunAsync(CancellationToken.None), Every(bounces.PollInterval), In(TimeZoneInfo.Utc));
        else recurring.RemoveIfExists(BounceMailboxId);
    }

    /// <summary>The configured refresh cron; a value still in Quartz's form (it has a '?') is converted, as stored campaign crons are.</summary>
    static string MetricsRefreshCron(string cron)
    {
        var (converted, problem) = cron.Contains('?') ? CronDialect.FromQuartz(cron) : new(cron, CronSchedule.Parse(cron).Error);
        return problem is null ? converted! : throw new InvalidOperationException($"Scheduling__MetricsRefreshCron '{cron}' {problem}");
    }

    /// <summary>A poll interval as a cron: every n seconds below a minute (Hangfire reads a sixth, seconds field), else every n minutes or hours.</summary>
    internal static string Every(TimeSpan interval)
    {
        var seconds = Math.Max(1, (int)Math.Round(interval.TotalSeconds));
        if (seconds < 60) return $"*/{seconds} * * * * *";
        var minutes = (int)Math.Round(interval.TotalMinutes);
        if (minutes < 60) return minutes == 1 ? "* * * * *" : $"*/{minutes} * * * *";
        return $"0 */{Math.Clamp((int)Math.Round(interval.TotalHours), 1, 23)} * * *";
    }
}

/// <summary>This process may not run the scheduler (another one owns the SQLite store); the message says why and what to do.</summary>
public sealed class SchedulerRefused(string message) : Exception(message);

/// <summary>Hangfire's storage with what we know about it: PostgreSQL is shared by nodes, SQLite belongs to one process.</summary>
public sealed class JobStore : IDisposable
{
    public required JobStorage Storage { get; init; }
    public bool Shared { get; init; }
    string? sqliteFile;
    /// <summary>SQLite: the file lock that keeps a second process off the store while this one lives.</summary>
    FileStream? ownerLock;

    public static JobStore Postgres(string connectionString, SchedulingOptions options) => new()
    {
        Shared = true,
        Storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, new PostgreSqlStorageOptions()), new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = true,
            UseSlidingInvisibilityTimeout = true,
            InvisibilityTimeout = options.InvisibilityTimeout,
            QueuePollInterval = options.QueuePollInterval,
            // Several nodes start at once against one database: the schema is created under Hangfire's own lock.
            DistributedLockTimeout = TimeSpan.FromMinutes(1),
        }),
    };

    public static JobStore Sqlite(string file, SchedulingOptions options)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return new JobStore
        {
            sqliteFile = file,
            Storage = new SQLiteStorage(Connections(file), new SQLiteStorageOptions
            {
                QueuePollInterval = options.QueuePollInterval,
                // No sliding timeout here: a job running longer than this would be started a second time. Every job
                // of ours hands on long before; a killed process's jobs are handed back at start instead (TakeOwnership).
                InvisibilityTimeout = TimeSpan.FromMinutes(30),
                // A lock held past a fifth of its lifetime renews itself from a timer on its owner's connection, and
                // that timer may still run after the lock is released (the package says so): on a connection being
                // closed, that is a use after free in native code. Our locks are held for milliseconds (scheduler
                // passes) or seconds (the bounce poll), so at 10 minutes the timer never fires; a lock left behind by a
                // killed process is dropped at start instead (TakeOwnership), not waited out.
                DistributedLockLifetime = TimeSpan.FromMinutes(10),
            }),
        };
    }

    /// <summary>
    /// The SQLite store's connections, serialized (FULLMUTEX). The package opens them NOMUTEX, but a distributed lock
    /// held past a fifth of its lifetime (6 s) renews itself from a timer on its owner's connection while the owner
    /// goes on using it: two threads in one native connection, which crashed the process (SIGSEGV, no managed
    /// exception; Hangfire.Storage.SQLite issue 79, reproduced here in under a second with a short lock lifetime).
    /// </summary>
    internal static SQLiteDbConnectionFactory Connections(string file) => new(() =>
        new SQLite.SQLiteConnection(file, SQLite.SQLiteOpenFlags.ReadWrite | SQLite.SQLiteOpenFlags.Create | SQLite.SQLiteOpenFlags.FullMutex,
            storeDateTimeAsTicks: true) { BusyTimeout = TimeSpan.FromSeconds(10) });

    /// <summary>
    /// The process that runs jobs, before it takes any. SQLite: it takes the file's lock (a second process on the
    /// same file is refused) and, being alone, hands back at once what a killed predecessor had fetched.
    /// </summary>
    public void TakeOwnership()
    {
        if (sqliteFile is null || ownerLock is not null) return;
        try
        {
            // An OS lock: released by the kernel when the process ends in any way, SIGKILL included.
            ownerLock = new FileStream(sqliteFile + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new SchedulerRefused(
                $"Another process runs the scheduler on '{sqliteFile}'. The SQLite store serves one node only (a second one would run jobs twice): " +
                "stop the other process, or use PostgreSQL for several nodes (Database__Provider=Postgres).");
        }
        ForgetDeadOwnersWork(sqliteFile);
    }

    /// <summary>
    /// With one process per file, whatever is fetched or locked when the owner starts belongs to a dead one: its jobs
    /// would wait out the invisibility timeout and its locks their lifetime (10 minutes in which no schedule would fire).
    /// </summary>
    static void ForgetDeadOwnersWork(string file)
    {
        if (!File.Exists(file)) return;
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var exists = connection.CreateCommand();
        exists.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('JobQueue', 'DistributedLock')";
        if (Convert.ToInt64(exists.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) < 2) return;
        using var forget = connection.CreateCommand();
        // sqlite-net stores DateTime as ticks: 0 is long before any timeout.
        forget.CommandText = "UPDATE JobQueue SET FetchedAt = 0; DELETE FROM DistributedLock";
        forget.ExecuteNonQuery();
    }

    /// <summary>This process runs no more jobs (it stopped): another may take the SQLite store.</summary>
    public void ReleaseOwnership()
    {
        ownerLock?.Dispose();
        ownerLock = null;
    }

    /// <summary>True from the servers' start until they stopped; false again only if they stopped in the host's time.</summary>
    internal bool ServersRunning { get; set; }

    public void Dispose()
    {
        // Servers that did not stop in time may still be at work on the store: closing the SQLite connections under
        // them would be a use after free in native code, and letting another process in would run jobs twice. The
        // process is ending; the OS closes the files and releases the lock.
        if (ServersRunning) return;
        (Storage as IDisposable)?.Dispose();
        ReleaseOwnership();
    }
}

/// <summary>
/// Runs this node's Hangfire server: registers the system's recurring jobs and brings campaign schedules in step
/// first, then takes jobs. On stop, running jobs see their token cancelled and hand their work back (send jobs
/// release their claims and enqueue a successor any node may take), so a stopping node exits within seconds.
/// </summary>
sealed class SchedulerHost(IServiceProvider services, SchedulingOptions options, SchedulerStatus status) : IHostedService
{
    BackgroundJobServer? server, sendServer;
    JobStore? store;
    ILoggerFactory? logging;

    public async Task StartAsync(CancellationToken ct)
    {
        logging = services.GetRequiredService<ILoggerFactory>();
        HangfireLogging.UseFor(logging);
        var store = this.store = services.GetRequiredService<JobStore>();
        store.TakeOwnership();
        SchedulingSetup.AddSystemJobs(services.GetRequiredService<IRecurringJobManager>(), options, services.GetRequiredService<IConfiguration>());
        await using (var scope = services.CreateAsyncScope())
        {
            if (!store.Shared) await SendLeases.ForgetAllAsync(scope.ServiceProvider.GetRequiredService<RetentionDb>(), ct);
            await StoredCronConversion.RunAsync(scope.ServiceProvider.GetRequiredService<RetentionDb>(),
                services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StoredCronConversion)), ct);
            await scope.ServiceProvider.GetRequiredService<CampaignSchedules>().EnsureAllAsync(ct);
        }
        var activator = new AspNetCoreJobActivator(services.GetRequiredService<IServiceScopeFactory>());
        store.ServersRunning = true;
        server = new BackgroundJobServer(ServerOptions(status.ServerName, activator, Math.Max(1, options.MaxConcurrentJobs), EnqueuedState.DefaultQueue), store.Storage);
        // Send jobs wait in a queue of their own for this node's send workers, only as many as fill its window: a
        // node whose window is full has no idle worker, so the successor a job hands on to goes to a node with room.
        // On one shared queue, Hangfire woke an idle worker of the enqueuing node at once (it signals its own
        // workers in-process), every successor stayed on the node that started the run, and a second node got at
        // most the jobs the first turned away (measured: none at all in 20 s of a two-node run).
        // Workers only: the schedulers and the store's upkeep run once per node, in the first server.
        sendServer = new BackgroundJobServer(ServerOptions(status.SendServerName, activator, SendWindow.JobsAtOnce, CampaignSendJob.Queue, workersOnly: true),
            store.Storage);
        status.StartedAt = DateTime.UtcNow;
    }

    BackgroundJobServerOptions ServerOptions(string name, JobActivator activator, int workers, string queue, bool workersOnly = false) => new()
    {
        ServerName = name,
        WorkerCount = workers,
        Queues = [queue],
        IsLightweightServer = workersOnly,
        SchedulePollingInterval = options.SchedulePollingInterval,
        HeartbeatInterval = options.HeartbeatInterval,
        ServerTimeout = options.ServerTimeout,
        ServerCheckInterval = options.HeartbeatInterval,
        // Jobs get their cancellation at once on stop; the host waits this long for them to hand back.
        StopTimeout = TimeSpan.Zero,
        ShutdownTimeout = TimeSpan.FromSeconds(20),
        Activator = activator,
    };

    public async Task StopAsync(CancellationToken ct)
    {
        var running = new[] { Interlocked.Exchange(ref sendServer, null), Interlocked.Exchange(ref server, null) }.OfType<BackgroundJobServer>().ToList();
        if (running.Count == 0) return;
        // Both at once: a send job stopped here hands on to a successor that a default worker never takes.
        foreach (var each in running) each.SendStop();
        foreach (var each in running)
        {
            // Cancelled when the host's shutdown time is up: the servers are left running, and the store open.
            await each.WaitForShutdownAsync(ct);
            each.Dispose();
        }
        if (store is not null)
        {
            store.ServersRunning = false;
            store.ReleaseOwnership();
        }
        if (logging is not null) HangfireLogging.Forget(logging);
    }
}

/// <summary>The nightly metrics refresh. Running it twice is harmless: each run recomputes the whole table.</summary>
[AutomaticRetry(Attempts = 2, DelaysInSeconds = [300, 1800])]
public sealed class MetricsRefreshJob(Metrics.MetricsRefresh refresh, Kpis.DashboardFigures figures, ILogger<MetricsRefreshJob> log)
{
    [System.ComponentModel.DisplayName("Nightly metrics refresh")]
    public async Task RunAsync(CancellationToken ct)
    {
        var result = await refresh.RunAsync(null, ct);
        await figures.ComputeAsync(ct);
        log.LogInformation("Nightly metrics refresh: {Customers} customers in {DurationMs} ms", result.Customers, result.DurationMs);
    }
}

/// <summary>
/// Hangfire's dashboard at <c>/jobs</c>, behind the UI's cookie sign-in (an API key does not open it): every signed-in
/// user sees jobs, servers and recurring schedules; only admins may act (trigger, requeue, delete).
/// </summary>
public static class JobsDashboard
{
    public const string Path = "/jobs";

    public static void MapJobsDashboard(this WebApplication app) =>
        app.MapHangfireDashboardWithAuthorizationPolicy(Users.SignInSetup.SignedIn, Path, new DashboardOptions
        {
            AppPath = "/",
            DashboardTitle = "RetentionCampaigns · Jobs",
            DisplayStorageConnectionString = false,
            IsReadOnlyFunc = context => !Hangfire.Dashboard.AspNetCoreDashboardContextExtensions.GetHttpContext(context).User.IsInRole(Users.UserRoles.Admin),
        }, app.Services.GetRequiredService<JobStorage>());
}
