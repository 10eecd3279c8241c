using System.Net.Http.Json;
using Hangfire;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Scheduling;

namespace RetentionCampaigns.Tests.Scheduling;

public sealed class SchedulingTests
{
    static RecurringJobDto Recurring(RetentionApp app, string id)
    {
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        return connection.GetRecurringJobs([id]).Single();
    }

    /// <summary>Every node was down since <paramref name="missedSince"/>: the recurring job last ran just before, its next slot lies back then.</summary>
    static void MoveNextExecution(RetentionApp app, string id, DateTime missedSince)
    {
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        using var transaction = connection.CreateWriteTransaction();
        // Hangfire counts missed slots from the job's last execution (or creation), not from the stored next one.
        var before = Hangfire.Common.JobHelper.SerializeDateTime(missedSince.AddMinutes(-1));
        transaction.SetRangeInHash($"recurring-job:{id}", [new("NextExecution", Hangfire.Common.JobHelper.SerializeDateTime(missedSince)),
            new("CreatedAt", before), new("LastExecution", before)]);
        // The scheduler looks for due jobs by the set's score; a store may keep an existing member's score on add.
        transaction.RemoveFromSet("recurring-jobs", id);
        transaction.AddToSet("recurring-jobs", id, Hangfire.Common.JobHelper.ToTimestamp(missedSince));
        transaction.Commit();
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheNightlyRefreshIsARecurringJobInTheShopsZoneWithAllJobsRetriedExplicitly(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var nightly = Recurring(app, SchedulingSetup.MetricsRefreshId);
        Assert.Equal("30 2 * * *", nightly.Cron);
        Assert.Equal("Europe/Berlin", nightly.TimeZoneId);
        var next = TimeZoneInfo.ConvertTimeFromUtc(nightly.NextExecution!.Value, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        Assert.Equal((2, 30), (next.Hour, next.Minute));
        Assert.Equal("0 * * * *", Recurring(app, SchedulingSetup.SignupExpiryId).Cron);
        Assert.Equal("*/5 * * * *", Recurring(app, SchedulingSetup.ReferralRewardsId).Cron);

        // Hangfire retries ten times unless told: every job of ours says how often.
        var jobTypes = typeof(CampaignSendJob).Assembly.GetTypes()
            .Where(t => t.Name.EndsWith("Job", StringComparison.Ordinal) && t.GetMethod("RunAsync") is not null).ToList();
        Assert.Equal(["BouncePollJob", "CampaignRunJob", "CampaignSendJob", "MetricsRefreshJob", "ReferralRewardJob", "SignupExpiryJob"],
            jobTypes.Select(t => t.Name).Order());
        Assert.All(jobTypes, t => Assert.NotNull(t.GetCustomAttributes(typeof(AutomaticRetryAttribute), false).SingleOrDefault()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task NightsMissedWhileEveryNodeWasDownRunOnceAtStartUp(DatabaseProvider store)
    {
        var first = await RetentionApp.StartAsync(store);
        await using var _ = first;
        MoveNextExecution(first, SchedulingSetup.MetricsRefreshId, DateTime.UtcNow.AddDays(-3));
        await first.StopAsync();

        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await second.WithDbAsync(db => db.MetricsRuns.CountAsync()) == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        await Task.Delay(TimeSpan.FromSeconds(6)); // room for a wrong second firing to show up
        Assert.Equal(1, await second.WithDbAsync(db => db.MetricsRuns.CountAsync()));
        Assert.True(Recurring(second, SchedulingSetup.MetricsRefreshId).NextExecution > DateTime.UtcNow);
    }

    static async Task<long> ScheduledRecurringCampaignAsync(RetentionApp app, string cron, string name = "Daily")
    {
        var customers = Enumerable.Range(1, 20).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = $"All for {name}", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name, segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back",
            schedule = new { kind = "cron", cron, timeZone = "Europe/Berlin" },
        })).JsonAsync(201);
        var id = campaign.GetProperty("id").GetInt64();
        await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).JsonAsync(200);
        return id;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACampaignWhoseSlotsWereMissedWhileTheNodeWasDownRunsOnceForTheLatestSlot(DatabaseProvider store)
    {
        var first = await RetentionApp.StartAsync(store);
        await using var _ = first;
        var id = await ScheduledRecurringCampaignAsync(first, "0 9 * * *");
        var recurring = Recurring(first, CampaignSchedules.RecurringIdFor(id));
        Assert.Equal("Europe/Berlin", recurring.TimeZoneId);
        MoveNextExecution(first, CampaignSchedules.RecurringIdFor(id), DateTime.UtcNow.AddDays(-3));
        await first.StopAsync();

        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await second.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)) == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        await Task.Delay(TimeSpan.FromSeconds(6));
        var runs = await second.WithDbAsync(db => db.CampaignRuns.AsNoTracking().Where(r => r.CampaignId == id).ToListAsync());
        var run = Assert.Single(runs);
        // The run is for the latest of the missed slots: 09:00 Berlin, today or yesterday.
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var latest = CronSchedule.Parse("0 9 * * *").Schedule!.Latest(DateTime.UtcNow, berlin);
        Assert.Equal(latest, DateTime.SpecifyKind(run.Slot, DateTimeKind.Utc));
        Assert.Equal((9, 0), (TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(run.Slot, DateTimeKind.Utc), berlin).Hour, 0));
    }

    [Fact]
    public async Task TwoNodesNeverStartTheSameSlotTwice()
    {
        var first = await RetentionApp.StartAsync(DatabaseProvider.Postgres);
        await using var _ = first;
        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var id = await ScheduledRecurringCampaignAsync(first, "*/10 * * * *");
        // Both nodes' schedulers find the slot due at once; each node's workers may take the job.
        MoveNextExecution(first, CampaignSchedules.RecurringIdFor(id), DateTime.UtcNow.AddMinutes(-25));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await first.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)) == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        // The same slot fired again by hand on the other node, as Hangfire may after a node dies mid-job.
        using (var connection = second.Services.GetRequiredService<JobStorage>().GetConnection())
        {
            var jobId = connection.GetRecurringJobs([CampaignSchedules.RecurringIdFor(id)]).Single().LastJobId;
            Assert.NotNull(jobId);
            second.Services.GetRequiredService<IBackgroundJobClient>().Requeue(jobId);
        }
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.Equal(1, await first.WithDbAsync(db => db.CampaignRuns.CountAsync(r => r.CampaignId == id)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CronsStoredInQuartzFormAreConvertedAtStartAndGetTheirRecurringJob(DatabaseProvider store)
    {
        var first = await RetentionApp.StartAsync(store);
        await using var _ = first;
        var monday = await ScheduledRecurringCampaignAsync(first, "0 9 * * 1");
        var yearly = await ScheduledRecurringCampaignAsync(first, "0 9 * * 2", "Tuesdays");
        // As a database from before the move holds them (migration 0024 copied each cron into quartz_cron); no Hangfire job yet.
        await first.WithDbAsync(db => db.Campaigns.Where(c => c.Id == monday)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.Cron, "0 0 9 ? * 2").SetProperty(c => c.QuartzCron, "0 0 9 ? * 2")));
        await first.WithDbAsync(db => db.Campaigns.Where(c => c.Id == yearly)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.Cron, "0 0 9 ? * 3 2027").SetProperty(c => c.QuartzCron, "0 0 9 ? * 3 2027")));
        var recurring = first.Services.GetRequiredService<IRecurringJobManager>();
        recurring.RemoveIfExists(CampaignSchedules.RecurringIdFor(monday));
        recurring.RemoveIfExists(CampaignSchedules.RecurringIdFor(yearly));
        await first.StopAsync();

        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var converted = await second.WithDbAsync(db => db.Campaigns.AsNoTracking().FirstAsync(c => c.Id == monday));
        Assert.Equal(("0 9 * * 1", "0 0 9 ? * 2", "scheduled"), (converted.Cron, converted.QuartzCron, converted.State));
        var job = Recurring(second, CampaignSchedules.RecurringIdFor(monday));
        Assert.Equal(("0 9 * * 1", "Europe/Berlin"), (job.Cron, job.TimeZoneId));
        Assert.Equal(DayOfWeek.Monday, TimeZoneInfo.ConvertTimeFromUtc(job.NextExecution!.Value, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")).DayOfWeek);

        // A year cannot be said in Hangfire's cron: the campaign waits for a person, with the reason, and has no job.
        var paused = await second.WithDbAsync(db => db.Campaigns.AsNoTracking().FirstAsync(c => c.Id == yearly));
        Assert.Equal("paused", paused.State);
        Assert.Contains("2027", paused.StateReason);
        using var connection = second.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.Empty(connection.GetAllEntriesFromHash($"recurring-job:{CampaignSchedules.RecurringIdFor(yearly)}") ?? []);
    }

    [Fact]
    public void ARecurringSlotAcrossTheDaylightSavingChangesFiresOncePerDayInTheCampaignsZone()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var daily = CronSchedule.Parse("30 2 * * *").Schedule!;
        // 28 March 2027: 02:00-03:00 does not exist in Berlin; 31 October 2027: 02:00-03:00 happens twice.
        var spring = daily.Next(new DateTime(2027, 3, 26, 12, 0, 0, DateTimeKind.Utc), berlin, 4);
        Assert.Equal(4, spring.Count);
        Assert.Equal(4, spring.Select(s => TimeZoneInfo.ConvertTimeFromUtc(s, berlin).Date).Distinct().Count());
        Assert.Equal(new DateTime(2027, 3, 28, 1, 0, 0, DateTimeKind.Utc), spring[1]); // 03:00 CEST, the first moment after the gap
        var autumn = daily.Next(new DateTime(2027, 10, 29, 12, 0, 0, DateTimeKind.Utc), berlin, 4);
        Assert.Equal(4, autumn.Select(s => TimeZoneInfo.ConvertTimeFromUtc(s, berlin).Date).Distinct().Count());
        Assert.Equal(new DateTime(2027, 10, 31, 0, 30, 0, DateTimeKind.Utc), autumn[1]); // 02:30 CEST, the first of the two
        // The run job's slot: a job fired on time, or late as a catch-up, finds the slot it belongs to.
        foreach (var slot in spring.Concat(autumn))
        {
            Assert.Equal(slot, daily.Latest(slot, berlin));
            Assert.Equal(slot, daily.Latest(slot.AddMinutes(50), berlin));
        }
        // The hour Berlin repeats in autumn: a job fired in the second 02:30 still belongs to the first.
        Assert.Equal(autumn[1], daily.Latest(autumn[1].AddHours(1), berlin));
    }

    [Fact]
    public void TheEmbeddedJobStoreSurvivesALockRenewingItselfWhileItsOwnerWorks()
    {
        // A lock renews itself from a timer every fifth of its lifetime, on the connection its owner goes on using.
        // With the package's own NOMUTEX connections this killed the process within a second (SIGSEGV); a lifetime of
        // 50 ms renews every 10 ms, so 2 s under locks meet the timer hundreds of times. (The app's locks live 10
        // minutes and never renew; this proves the connections are safe if one does.)
        InJobStoreFile(file =>
        {
            var storage = new Hangfire.Storage.SQLite.SQLiteStorage(JobStore.Connections(file),
                new Hangfire.Storage.SQLite.SQLiteStorageOptions { DistributedLockLifetime = TimeSpan.FromMilliseconds(50) });
            try
            {
                var written = 0;
                var until = DateTime.UtcNow.AddSeconds(2);
                while (DateTime.UtcNow < until)
                {
                    using var connection = storage.GetConnection();
                    using (connection.AcquireDistributedLock("renewing", TimeSpan.FromSeconds(5)))
                    {
                        for (var i = 0; i < 50; i++)
                        {
                            using var transaction = connection.CreateWriteTransaction();
                            transaction.SetRangeInHash("progress", [new("written", (++written).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
                            transaction.Commit();
                            Assert.Equal(written.ToString(System.Globalization.CultureInfo.InvariantCulture), connection.GetAllEntriesFromHash("progress")["written"]);
                        }
                    }
                }
            }
            finally
            {
                // A renewal that had begun when its lock was released may still be at work on the connection: it ends
                // within milliseconds, and only then may the storage close its connections (closing one under it would
                // be a use after free in native code). Left open instead, they would be closed by the garbage
                // collector's finalizers, which sqlite-net does not do safely (its issues 667 and 1003).
                Thread.Sleep(500);
                storage.Dispose();
            }
        });
    }

    [Fact]
    public void ALockLeftByAKilledProcessIsDroppedWhenTheNextOneTakesTheEmbeddedStore()
    {
        InJobStoreFile(file =>
        {
            // Taken and never released, as by a process killed during a scheduler pass (its connection stays open
            // here, and its lock would live 10 minutes).
            using var killedStore = JobStore.Sqlite(file, new SchedulingOptions());
            using var killed = killedStore.Storage.GetConnection();
            using var killedLock = killed.AcquireDistributedLock("recurring-jobs:lock", TimeSpan.FromSeconds(1));
            using var next = JobStore.Sqlite(file, new SchedulingOptions());
            next.TakeOwnership();
            using var connection = next.Storage.GetConnection();
            using (connection.AcquireDistributedLock("recurring-jobs:lock", TimeSpan.FromSeconds(1))) { }
            // Closed at the end (the lock first, as its renewal timer would otherwise outlive its connection): a dead
            // process's connections are the kernel's business, a test's are its own.
        });
    }

    [Fact]
    public void AStoreWhoseServersDidNotStopInTimeIsNotClosedUnderThem()
    {
        InJobStoreFile(file =>
        {
            var store = JobStore.Sqlite(file, new SchedulingOptions());
            store.ServersRunning = true;
            store.Dispose();
            using (var connection = store.Storage.GetConnection()) Assert.Empty(connection.GetRecurringJobs());
            store.ServersRunning = false;
            store.Dispose();
            Assert.Throws<ObjectDisposedException>(() => store.Storage.GetConnection());
        });
    }

    /// <summary>Runs a test on a job-store file of its own in the temporary directory, removed after with its companions.</summary>
    static void InJobStoreFile(Action<string> test)
    {
        var file = Path.Combine(Path.GetTempPath(), $"rc-jobstore-{Guid.NewGuid():N}.db");
        try
        {
            test(file);
        }
        finally
        {
            foreach (var path in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(file) + "*")) File.Delete(path);
        }
    }
}
