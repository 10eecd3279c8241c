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
    readonly IReadOnlyDictionary<string, string> settings;
    readonly List<IBrowserContext> contexts = [];
    public AppProcess App { get; }
    public string BaseUrl => App.BaseAddress.ToString().TrimEnd('/');

    BrowserShop(TestDatabase database, IReadOnlyDictionary<string, string> settings, AppProcess app) => (this.database, this.settings, App) = (database, settings, app);

    public static async Task<BrowserShop> StartAsync(DatabaseProvider store)
    {
        var database = await TestDatabase.CreateAsync(store);
        var settings = AppProcess.Settings(store.ToString(), database.ConnectionString,
            new Dictionary<string, string> { ["Mail:PickupDirectory"] = Path.Combine(Path.GetTempPath(), "rc-outbox-" + Guid.NewGuid().ToString("N")) });
        var key = await AppProcess.CreateApiKeyAsync(settings, "browser-tests");
        return new BrowserShop(database, settings, await AppProcess.StartAsync("browser", settings, key));
    }

    /// <summary>Creates the person with the CLI and signs them in through the sign-in form; the page is on the dashboard.</summary>
    public async Task<IPage> SignInAsync(IBrowser browser, string email, string role, string locale)
    {
        var password = await AppProcess.CreateUserAsync(settings, email, role);
        var context = await browser.NewContextAsync(new() { Locale = locale, ViewportSize = new() { Width = 1280, Height = 900 } });
        contexts.Add(context);
        var page = await context.NewPageAsync();
        await page.GotoAsync(BaseUrl + "/account/sign-in");
        await page.FillAsync("input[name=Email]", email);
        await page.FillAsync("input[name=Password]", password);
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForURLAsync(BaseUrl + "/");
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
