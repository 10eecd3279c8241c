using RetentionCampaigns.Data;
using Xunit.Abstractions;

namespace RetentionCampaigns.Tests.Scenarios;

/// <summary>
/// The send path under the things that go wrong in production, with real processes: the app killed with SIGKILL,
/// two nodes sharing a run, a flaky SMTP server, consent withdrawn mid-run. The counting SMTP server is the witness.
/// </summary>
[Collection("Scenarios")]
public sealed class SendingScenarios(ITestOutputHelper output)
{
    // The node's send window (its send jobs times its pool, DeliveryCounter.AppSettings' 8): at most this many
    // deliveries in doubt per kill.
    const int Window = RetentionCampaigns.Campaigns.SendWindow.JobsAtOnce * 8;

    [Theory, ClassData(typeof(BothStores))]
    public async Task KilledThreeTimesMidRunEveryRecipientGetsOneMessageAndTheReportAgrees(DatabaseProvider store)
    {
        const int customers = 20_000;
        await using var scenario = await Scenario.CreateAsync(store, customers,
            more: new() { ["Scheduling:SendJobSeconds"] = "5" });
        var node = await scenario.StartNodeAsync("node-1");
        var id = await scenario.StartCampaignAsync(node);

        var seed = Environment.TickCount;
        var random = new Random(seed);
        var moments = new[] { random.Next(1_000, 6_000), random.Next(7_000, 12_000), random.Next(13_000, 18_000) };
        output.WriteLine($"seed {seed}: kills after {string.Join(", ", moments)} messages");
        var restart = 1;
        foreach (var moment in moments)
        {
            await scenario.Server.WaitForAsync(moment, TimeSpan.FromMinutes(3));
            node.Kill();
            output.WriteLine($"killed {node.Name} with {scenario.Server.Count} messages at the server");
            node = await scenario.StartNodeAsync($"node-1-restart-{restart++}");
        }
        var report = await scenario.WaitForCompletionAsync(id, TimeSpan.FromMinutes(5));

        var (sent, inDoubt, inDoubtArrived, arrived) = await scenario.AssertExactlyOnceAsync();
        output.WriteLine($"{store}: report {report.GetProperty("statuses")}; server {arrived} messages; in doubt {inDoubt}, of which {inDoubtArrived} arrived");
        Assert.Equal(customers, sent + inDoubt);
        Assert.InRange(inDoubt, 0, moments.Length * Window);
        Assert.Equal(sent, report.GetProperty("statuses").GetProperty("sent").GetInt32());
        Assert.Equal(arrived, sent + inDoubtArrived);
    }

    [Fact]
    public async Task TwoNodesShareARunWithoutDuplicatesAndOneFinishesWhenTheOtherDies()
    {
        const int customers = 20_000;
        await using var scenario = await Scenario.CreateAsync(DatabaseProvider.Postgres, customers,
            more: new() { ["Scheduling:SendJobSeconds"] = "4", ["Scheduling:SendWorkersPerRun"] = "4" });
        var first = await scenario.StartNodeAsync("node-a");
        var second = await scenario.StartNodeAsync("node-b");
        // 500 messages a second per node: the run lasts long enough (about 20 s) for both nodes' send jobs to
        // finish and report several times before one node dies (a job reports when its time is up).
        var id = await scenario.StartCampaignAsync(first, new { quietFrom = "", quietUntil = "", ratePerMinute = 30_000 });

        // Both take part: each has finished send jobs with messages sent before one of them dies.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!(SentBy(first) > 0 && SentBy(second) > 0) && scenario.Server.Count < customers * 0.6 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var (fromFirst, fromSecond) = (SentBy(first), SentBy(second));
        output.WriteLine($"before the kill: node-a reported {fromFirst} sent, node-b {fromSecond}; server {scenario.Server.Count}");
        Assert.True(fromFirst > 0 && fromSecond > 0, $"both nodes should send: a {fromFirst}, b {fromSecond}\n{scenario.NodeOutput()}");
        first.Kill();

        var report = await scenario.WaitForCompletionAsync(id, TimeSpan.FromMinutes(5));
        var (sent, inDoubt, inDoubtArrived, arrived) = await scenario.AssertExactlyOnceAsync();
        output.WriteLine($"report {report.GetProperty("statuses")}; server {arrived}; in doubt {inDoubt} ({inDoubtArrived} arrived); node-b reported {SentBy(second)} sent");
        Assert.Equal(customers, sent + inDoubt);
        Assert.InRange(inDoubt, 0, Window);
        Assert.True(SentBy(second) > fromSecond, "the surviving node should have finished the run");
    }

    [Fact]
    public async Task ANodeStoppedMidRunHandsItsWorkBackAtOnceAndExitsWithinSeconds()
    {
        const int customers = 20_000;
        await using var scenario = await Scenario.CreateAsync(DatabaseProvider.Postgres, customers,
            more: new() { ["Scheduling:SendJobSeconds"] = "20", ["Scheduling:SendWorkersPerRun"] = "4" });
        var first = await scenario.StartNodeAsync("node-a");
        var second = await scenario.StartNodeAsync("node-b");
        var id = await scenario.StartCampaignAsync(first, new { quietFrom = "", quietUntil = "", ratePerMinute = 30_000 });
        await scenario.Server.WaitForAsync(4_000, TimeSpan.FromMinutes(2));

        // A deployment stops node-a (SIGTERM) in the middle of its send jobs.
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await first.StopAsync();
        stopping.Stop();
        var atExit = scenario.Server.Count;
        var held = (await scenario.LedgerAsync()).Count(d => d.Status is "claimed" or "sending");
        output.WriteLine($"node-a exited {stopping.Elapsed.TotalSeconds:0.0} s after SIGTERM with {atExit} messages at the server; {held} rows held then");
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"node-a took {stopping.Elapsed.TotalSeconds:0.0} s to stop\n{scenario.NodeOutput()}");

        // node-b carries on at once: well before node-a's jobs could have been taken over by the invisibility timeout.
        await scenario.Server.WaitForAsync(atExit + 1_000, TimeSpan.FromSeconds(15));
        var report = await scenario.WaitForCompletionAsync(id, TimeSpan.FromMinutes(3));
        var (sent, inDoubt, _, _) = await scenario.AssertExactlyOnceAsync();
        output.WriteLine($"report {report.GetProperty("statuses")}");
        // A graceful stop writes every outcome: nothing in doubt.
        Assert.Equal((customers, 0), (sent, inDoubt));
    }

    [Fact]
    public async Task ASecondNodeOnTheSqliteStoreIsRefusedWithTheReasonAndTheStoreIsFreeOnceTheFirstIsKilled()
    {
        await using var scenario = await Scenario.CreateAsync(DatabaseProvider.Sqlite, 10);
        var first = await scenario.StartNodeAsync("node-1");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => scenario.StartNodeAsync("node-2"));
        Assert.Contains("Another process runs the scheduler", refused.Message);
        Assert.Contains("use PostgreSQL for several nodes", refused.Message);
        Assert.DoesNotContain("Unhandled exception", refused.Message);
        // SIGKILL leaves no lock behind: the kernel drops it with the process.
        first.Kill();
        var again = await scenario.StartNodeAsync("node-1-restart");
        Assert.False(again.HasExited);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AFlakyServerGetsEveryMessageInTheEndWithoutDuplicates(DatabaseProvider store)
    {
        const int customers = 2_000;
        // 451 to one message in ten, connections dropped at some MAIL commands and after some messages' data.
        await using var scenario = await Scenario.CreateAsync(store, customers,
            faults: ["--fail-every", "10", "--drop-mail-every", "53", "--drop-after-every", "97"],
            more: new() { ["Campaigns:RetryBackoff"] = "00:00:01,00:00:02,00:00:03" });
        var node = await scenario.StartNodeAsync("node");
        var id = await scenario.StartCampaignAsync(node);
        var report = await scenario.WaitForCompletionAsync(id, TimeSpan.FromMinutes(4));

        var (sent, inDoubt, inDoubtArrived, arrived) = await scenario.AssertExactlyOnceAsync();
        output.WriteLine($"{store}: report {report.GetProperty("statuses")}; server {arrived}; in doubt {inDoubt} ({inDoubtArrived} arrived)");
        Assert.Equal(customers, sent + inDoubt);
        Assert.True(inDoubt > 0, "the server dropped connections after taking messages: those must show as in doubt");
        // The server kept every message whose connection it dropped after the data: all arrived, none twice.
        Assert.Equal(customers, arrived);
        var ledger = await scenario.LedgerAsync();
        Assert.DoesNotContain(ledger, d => d.Status is "failed" or "pending" or "skipped");
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task CustomersWhoWithdrawMidRunReceiveNothingAfterwards(DatabaseProvider store)
    {
        const int customers = 4_000;
        await using var scenario = await Scenario.CreateAsync(store, customers);
        var node = await scenario.StartNodeAsync("node");
        var id = await scenario.StartCampaignAsync(node, new { quietFrom = "", quietUntil = "", ratePerMinute = 30_000 });

        await scenario.Server.WaitForAsync(600, TimeSpan.FromMinutes(2));
        // Every fifth customer withdraws, in one committed statement; what the server has by then is "before".
        await scenario.ExecuteAsync($"""
            INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, recorded_at)
            SELECT id, 'email_marketing', 'withdrawn', 'consent', {(store == DatabaseProvider.Postgres ? "false" : "0")}, 'unsubscribe link',
                   {(store == DatabaseProvider.Postgres ? "now()" : "strftime('%Y-%m-%d %H:%M:%f', 'now')")},
                   {(store == DatabaseProvider.Postgres ? "now()" : "strftime('%Y-%m-%d %H:%M:%f', 'now')")}
            FROM customers WHERE id % 5 = 0
            """);
        var before = scenario.Server.Count;
        var report = await scenario.WaitForCompletionAsync(id, TimeSpan.FromMinutes(4));

        await scenario.AssertExactlyOnceAsync();
        var ledger = await scenario.LedgerAsync();
        var accepted = scenario.Server.Accepted();
        var withdrawn = ledger.Where(d => d.CustomerId % 5 == 0).ToDictionary(d => $"{d.RunId}-{d.CustomerId}");
        var afterwards = accepted.Skip(before).Count(withdrawn.ContainsKey);
        output.WriteLine($"{store}: {before} messages before the withdrawal; {afterwards} to withdrawn customers after it; report {report.GetProperty("statuses")}");
        // Only messages already on the wire when the withdrawal committed may still arrive: at most the send window.
        Assert.InRange(afterwards, 0, Window);
        var skipped = withdrawn.Values.Where(d => d.Status == "skipped").ToList();
        Assert.Equal(withdrawn.Count, skipped.Count + accepted.Count(withdrawn.ContainsKey));
        Assert.All(skipped, d => Assert.Contains("consent", d.Reason));
        Assert.True(skipped.Count > withdrawn.Count / 2, $"most withdrawn customers come after the first {before} messages: {skipped.Count} skipped");
    }

    /// <summary>Messages a node's send jobs reported sent so far (their log lines "Run N: M sent, ...").</summary>
    static int SentBy(Harness.AppProcess node) =>
        System.Text.RegularExpressions.Regex.Matches(node.Output, @"Run \d+: (\d+) sent").Sum(m => int.Parse(m.Groups[1].Value));
}
