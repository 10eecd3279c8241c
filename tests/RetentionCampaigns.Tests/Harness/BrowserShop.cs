using RetentionCampaigns.Data;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace RetentionCampaigns.Tests.Harness;

/// <summary>
/// Debian's Chromium driven by Playwright (never Playwright's own browser download), launched once for all
/// browser tests of the collection.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public const string Executable = "/usr/bin/chromium";
    IPlaywright? playwright;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Executable)) throw new InvalidOperationException($"{Executable} is missing: the test command installs Debian's chromium package.");
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Executable, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<ChromiumFixture>
{
    public const string Name = "browser";
}

/// <summary>
/// The real app as its own process on a fresh database (SQLite or PostgreSQL), with people of each role created
/// by the CLI, and a browser context per person in a given language.
/// </summary>
public sealed class BrowserShop : IAsyncDisposable
{
    readonly TestDatabase database;
    readonly List<IBrowserContext> contexts = [];
    public AppProcess App { get; }
    public string BaseUrl => App.BaseAddress.ToString().TrimEnd('/');

    BrowserShop(TestDatabase database, AppProcess app) => (this.database, App) = (database, app);

    /// <remarks>
    /// The API key and the people are created with the feature code the CLI calls (its verbs have tests of their own),
    /// in this process: a CLI run is a dotnet process of its own, about 1.8 s each, two or three per test.
    /// </remarks>
    public static async Task<BrowserShop> StartAsync(DatabaseProvider store)
    {
        var database = await TestDatabase.CreateAsync(store);
        var settings = AppProcess.Settings(store.ToString(), database.ConnectionString,
            new Dictionary<string, string> { ["Mail:PickupDirectory"] = Path.Combine(Path.GetTempPath(), "rc-outbox-" + Guid.NewGuid().ToString("N")) });
        // The app migrates the database before it answers /health; the key is made after.
        var app = await AppProcess.StartAsync("browser", settings, apiKey: "none-yet");
        await using (var db = database.CreateContext())
            app.UseApiKey(await RetentionCampaigns.ApiKeys.ApiKeyService.CreateAsync(db, "browser-tests", TimeProvider.System));
        return new BrowserShop(database, app);
    }

    /// <summary>
    /// Waiting for a URL up to its commit, not its load event: a CI run timed out waiting for the dashboard's load
    /// event after its network had gone idle (Playwright logged "NetworkIdle event fired"). What follows a wait for a
    /// URL is a locator's assertion or action, which waits for what it needs itself.
    /// </summary>
    public static readonly PageWaitForURLOptions Committed = new() { WaitUntil = WaitUntilState.Commit };

    /// <summary>Creates the person and signs them in through the sign-in form; the page is on the dashboard.</summary>
    public async Task<IPage> SignInAsync(IBrowser browser, string email, string role, string locale)
    {
        string password;
        await using (var db = database.CreateContext())
            (_, password) = await new RetentionCampaigns.Users.UserAccounts(db, TimeProvider.System).CreateAsync(email, role, CancellationToken.None);
        var context = await browser.NewContextAsync(new() { Locale = locale, ViewportSize = new() { Width = 1280, Height = 900 } });
        contexts.Add(context);
        var page = await context.NewPageAsync();
        await page.GotoAsync(BaseUrl + "/account/sign-in");
        await page.FillAsync("input[name=Email]", email);
        await page.FillAsync("input[name=Password]", password);
        await page.ClickAsync("main button[type=submit]");
        try
        {
            await page.WaitForURLAsync(BaseUrl + "/", Committed);
            await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
        }
        catch (Exception timeout) when (timeout is TimeoutException or PlaywrightException)
        {
            // Where the browser stayed and what it and the app said: a bare timeout tells nothing of why.
            var shown = page.Url.StartsWith(BaseUrl, StringComparison.Ordinal) ? await page.Locator("main").InnerTextAsync(new() { Timeout = 5_000 }) : "";
            throw new TimeoutException($"{email} was not signed in: the browser is on {page.Url}, showing:\n{shown}\napp output:\n{App.Output}", timeout);
        }
        return page;
    }

    public async Task<IBrowserContext> AnonymousAsync(IBrowser browser, string locale)
    {
        var context = await browser.NewContextAsync(new() { Locale = locale });
        contexts.Add(context);
        return context;
    }

    /// <summary>Customers, orders and survey answers through the API, then the metrics refreshed.</summary>
    public async Task SeedAsync(object[] customers, object[] orders, object[] answers)
    {
        (await App.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).EnsureSuccessStatusCode();
        if (orders.Length > 0) (await App.Api.PostAsJsonAsync("/api/orders/batch", new { orders })).EnsureSuccessStatusCode();
        if (answers.Length > 0) (await App.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers })).EnsureSuccessStatusCode();
        (await App.Api.PostAsync("/api/metrics/refresh", null)).EnsureSuccessStatusCode();
    }

    public RetentionCampaigns.Data.RetentionDb Db() => database.CreateContext();

    public async ValueTask DisposeAsync()
    {
        foreach (var context in contexts) await context.DisposeAsync();
        await App.DisposeAsync();
        await database.DisposeAsync();
    }
}

/// <summary>axe-core's findings on a page as it stands.</summary>
public static class Accessibility
{
    /// <summary>
    /// The violations only, found in the page itself. The package's default run finishes in a blank page of a new
    /// browser context, with axe injected a second time: 2-5 s a page here, against 0.4-1.5 s for its "legacy" run with
    /// the same findings (measured on all 13 pages of the accessibility test). The legacy run is unsafe only across
    /// frames of other origins, and our pages have no frames.
    /// </summary>
    /// <returns>Each serious or critical violation as "rule (impact) help: the elements' HTML".</returns>
    public static async Task<string[]> SeriousViolationsAsync(IPage page)
    {
#pragma warning disable CS0618 // the legacy run: see above
        var result = await Deque.AxeCore.Playwright.PageExtensions.RunAxeLegacy(page, null,
            new Deque.AxeCore.Commons.AxeRunOptions { ResultTypes = [Deque.AxeCore.Commons.ResultType.Violations] });
#pragma warning restore CS0618
        return result.Violations.Where(v => v.Impact is "serious" or "critical")
            .Select(v => $"{v.Id} ({v.Impact}) {v.Help}: {string.Join(" | ", v.Nodes.Select(n => n.Html))}").ToArray();
    }
}
