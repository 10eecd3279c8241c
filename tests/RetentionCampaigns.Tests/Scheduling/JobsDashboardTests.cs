using System.Net;
using System.Net.Http.Headers;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Data;
using RetentionCampaigns.Scheduling;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Scheduling;

/// <summary>The jobs dashboard: behind the UI's sign-in only; admins act, marketers and analysts look.</summary>
public sealed class JobsDashboardTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task NobodyReachesItWithoutSignInNotEvenWithAnApiKey(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var anonymous = UiBrowser.Create(app);
        foreach (var path in new[] { "/jobs", "/jobs/recurring", "/jobs/servers", "/jobs/stats" })
        {
            var answer = path == "/jobs/stats" ? await anonymous.PostAsync(path, new FormUrlEncodedContent([])) : await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
            Assert.StartsWith("/account/sign-in", answer.Headers.Location!.PathAndQuery);
        }
        using var withKey = UiBrowser.Create(app);
        withKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await app.CreateApiKeyAsync());
        var keyed = await withKey.GetAsync("/jobs/recurring");
        Assert.Equal(HttpStatusCode.Redirect, keyed.StatusCode);
        Assert.DoesNotContain("metrics-refresh", await keyed.Content.ReadAsStringAsync());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AdminsMayActWhileMarketersAndAnalystsOnlyLook(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var admin = (await UiBrowser.SignedInAsync(app, "boss@shop.example", UserRoles.Admin)).Browser;
        var asAdmin = await (await admin.GetAsync("/jobs/recurring")).Content.ReadAsStringAsync();
        Assert.Contains("metrics-refresh", asAdmin);
        Assert.Contains("js-jobs-list-command", asAdmin); // the trigger and delete buttons

        // The servers page lists this node with its heartbeat.
        var servers = await (await admin.GetAsync("/jobs/servers")).Content.ReadAsStringAsync();
        Assert.Contains(app.Services.GetRequiredService<SchedulerStatus>().ServerName, servers);

        foreach (var (email, role) in new[] { ("mara@shop.example", UserRoles.Marketer), ("ana@shop.example", UserRoles.Analyst) })
        {
            using var reader = (await UiBrowser.SignedInAsync(app, email, role)).Browser;
            var page = await reader.GetAsync("/jobs/recurring");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("metrics-refresh", html);
            Assert.DoesNotContain("js-jobs-list-command", html);
            // Sending the command anyway changes nothing.
            var triggered = await reader.PostAsync("/jobs/recurring/trigger", new FormUrlEncodedContent([new("jobs[]", SchedulingSetup.MetricsRefreshId)]));
            Assert.False(triggered.IsSuccessStatusCode, $"{role}: {(int)triggered.StatusCode}");
            using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
            Assert.Null(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection, [SchedulingSetup.MetricsRefreshId]).Single().LastJobId);
        }
    }

    [Fact]
    public async Task TwoNodesShowInOneDashboardAndASessionFromOneNodeIsValidOnTheOther()
    {
        await using var first = await RetentionApp.StartAsync(DatabaseProvider.Postgres);
        await using var second = await first.StartAnotherOnSameDatabaseAsync();
        var (_, password) = await first.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("ops@shop.example", UserRoles.Admin, default));
        var cookies = new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler();
        using var onFirst = first.CreateDefaultClient(new Uri("http://localhost"), cookies);
        var signedIn = await UiBrowser.PostFormAsync(onFirst, "/account/sign-in", "/account/sign-in", new() { ["Email"] = "ops@shop.example", ["Password"] = password });
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

        // The same browser (its cookie) on the other node: the keys that signed the cookie are in the shared database.
        using var onSecond = second.CreateDefaultClient(new Uri("http://localhost"), new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler(cookies.Container));
        var servers = await onSecond.GetAsync("/jobs/servers");
        Assert.Equal(HttpStatusCode.OK, servers.StatusCode);
        var html = await servers.Content.ReadAsStringAsync();
        Assert.Contains(first.Services.GetRequiredService<SchedulerStatus>().ServerName, html);
        Assert.Contains(second.Services.GetRequiredService<SchedulerStatus>().ServerName, html);
        var health = await (await second.CreateClient().GetAsync("/health")).JsonAsync(200);
        Assert.StartsWith("2 server(s) alive", health.GetProperty("checks").GetProperty("scheduler").GetProperty("description").GetString());
    }
}
