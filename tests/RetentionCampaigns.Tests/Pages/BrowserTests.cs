using RetentionCampaigns.Data;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Pages;

public sealed class StoresAndLanguages : TheoryData<DatabaseProvider, string>
{
    public StoresAndLanguages()
    {
        foreach (var store in new[] { DatabaseProvider.Sqlite, DatabaseProvider.Postgres })
        foreach (var locale in new[] { "de-DE", "en-GB" })
            Add(store, locale);
    }
}

/// <summary>Issue 16 in a real browser (Debian's Chromium) against the app as its own process.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BrowserTests(ChromiumFixture chromium)
{
    static readonly DateTimeOffset Today = DateTimeOffset.UtcNow;

    /// <summary>P1: promoter, last order 120 days ago; P2: promoter, 10 days ago; D1: detractor, 200 days ago; N1: no answer, 150 days ago.</summary>
    static Task SeedFourAsync(BrowserShop shop) => shop.SeedAsync(
        [
            new { externalId = "P1", email = "paula@example.com", firstName = "Paula", lastName = "Prüfer" },
            new { externalId = "P2", email = "peter@example.com", firstName = "Peter", lastName = "Pohl" },
            new { externalId = "D1", email = "dora@example.com", firstName = "Dora", lastName = "Dahl" },
            new { externalId = "N1", email = "nina@example.com", firstName = "Nina", lastName = "Noll" },
        ],
        [
            new { externalId = "O1", customerId = "P1", orderedAt = Today.AddDays(-120), amount = 80m },
            new { externalId = "O2", customerId = "P2", orderedAt = Today.AddDays(-10), amount = 40m },
            new { externalId = "O3", customerId = "D1", orderedAt = Today.AddDays(-200), amount = 60m },
            new { externalId = "O4", customerId = "N1", orderedAt = Today.AddDays(-150), amount = 20m },
        ],
        [
            new { customerId = "P1", answeredAt = Today.AddDays(-30), nps = 10 },
            new { customerId = "P2", answeredAt = Today.AddDays(-5), nps = 9 },
            new { customerId = "D1", answeredAt = Today.AddDays(-40), nps = 3 },
        ]);

    /// <summary>
    /// Waits until htmx has no request in flight and has settled what it swapped in: a person cannot click within the
    /// 20 ms htmx takes to wire up new content, a test can.
    /// </summary>
    static Task SettledAsync(IPage page) =>
        page.WaitForFunctionAsync("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')");

    static async Task<string> CountAsync(IPage page, string expected)
    {
        var count = page.Locator("#member-count");
        await Assertions.Expect(count).ToHaveTextAsync(expected, new() { Timeout = 10_000 });
        return await count.InnerTextAsync();
    }

    [Theory, ClassData(typeof(StoresAndLanguages))]
    public async Task TheSegmentBuilderBuildsPromotersWhoHaveNotOrderedFor90DaysWithALiveCountAnExplanationAndSaves(DatabaseProvider store, string locale)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var page = await shop.SignInAsync(chromium.Browser, "mara@shop.example", UserRoles.Marketer, locale);
        var german = locale.StartsWith("de");

        await page.GotoAsync(shop.BaseUrl + "/segments/new");
        // A new segment starts with "days since the last order at least 90": P1, D1, N1.
        await CountAsync(page, "3");
        await page.FillAsync("input[name=Name]", "Promoters lapsed 90 days");
        await page.ClickAsync("button[value='add-condition:0']");
        await Assertions.Expect(page.Locator("select[name='Lines[2].Field']")).ToBeVisibleAsync();
        await SettledAsync(page);
        await page.SelectOptionAsync("select[name='Lines[2].Field']", "nps_category");
        // The builder redraws the condition with the NPS categories to pick from; the first is "promoter".
        await Assertions.Expect(page.Locator("select[name='Lines[2].Value']")).ToHaveValueAsync("promoter");
        await SettledAsync(page);
        await CountAsync(page, "1");

        // A value typed into the first condition changes the count without a click (debounced).
        await page.FillAsync("input[name='Lines[1].Value']", "5");
        await CountAsync(page, "2");
        await page.FillAsync("input[name='Lines[1].Value']", "90");
        await CountAsync(page, "1");

        await page.FillAsync("input[name=explain]", "P2");
        await page.ClickAsync("button[value=explain]");
        await Assertions.Expect(page.Locator("#explain")).ToContainTextAsync(german ? "P2 ist kein Mitglied." : "P2 is not a member.");
        await Assertions.Expect(page.Locator("#explain tbody tr")).ToHaveCountAsync(2);

        await page.ClickAsync("button[formaction*='handler=Save']");
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex(@"/segments/\d+\?saved=true$"), BrowserShop.Committed);
        await Assertions.Expect(page.Locator("[role=status]")).ToContainTextAsync(german ? "Als Version 1 gespeichert." : "Saved as version 1.");

        await using var db = shop.Db();
        var saved = await db.Segments.SingleAsync(s => s.Name == "Promoters lapsed 90 days");
        Assert.Equal("mara@shop.example", saved.UpdatedBy);
        using var rule = JsonDocument.Parse(saved.Rule);
        Assert.Equal(2, rule.RootElement.GetProperty("all").GetArrayLength());
        Assert.Equal("mara@shop.example", (await db.SegmentVersions.SingleAsync(v => v.SegmentId == saved.Id)).CreatedBy);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ASaveWithAnEmptyNameAndAWrongValueShowsEachMessageBesideItsFieldAndKeepsTheRule(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        var page = await shop.SignInAsync(chromium.Browser, "mara@shop.example", UserRoles.Marketer, "en-GB");
        await page.GotoAsync(shop.BaseUrl + "/segments/new");
        await page.FillAsync("input[name='Lines[1].Value']", "ninety");
        await page.ClickAsync("button[formaction*='handler=Save']");
        await Assertions.Expect(page.Locator("#name-error")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#line-1 .error")).ToContainTextAsync("must be a number");
        await Assertions.Expect(page.Locator("input[name='Lines[1].Value']")).ToHaveValueAsync("ninety");
        await using var db = shop.Db();
        Assert.False(await db.Segments.AnyAsync(s => !s.BuiltIn));
    }

    [Theory, ClassData(typeof(StoresAndLanguages))]
    public async Task CustomersAreFoundByAPrefixAndTheCustomerPageShowsOrdersAnswersAndSegments(DatabaseProvider store, string locale)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var page = await shop.SignInAsync(chromium.Browser, "ana@shop.example", UserRoles.Analyst, locale);
        await page.ClickAsync("nav a[href='/customers']");
        await Assertions.Expect(page.Locator("#results tbody tr")).ToHaveCountAsync(4);
        // The rows are there before htmx (a deferred script) has taken the search field: typed sooner, the search
        // would be lost (a CI run saw 4 rows for 10 s).
        await page.WaitForLoadStateAsync(LoadState.Load);
        await page.FillAsync("#q", "pe"); // Peter by first name; upper or lower case
        await Assertions.Expect(page.Locator("#results tbody tr")).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        await page.ClickAsync("#results a:has-text('Peter Pohl')");
        await page.WaitForURLAsync(shop.BaseUrl + "/customers/P2", BrowserShop.Committed);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Peter Pohl");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("O2");
        await Assertions.Expect(page.Locator(".chips")).ToContainTextAsync("Promoter");
        // An analyst reads; erasure and export are for admins.
        await Assertions.Expect(page.Locator("form[action*='handler=Erase']")).ToHaveCountAsync(0);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAnalystSeesTheBuilderReadOnlyAndTheServerRefusesTheirSave(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        var page = await shop.SignInAsync(chromium.Browser, "ana@shop.example", UserRoles.Analyst, "en-GB");
        await page.GotoAsync(shop.BaseUrl + "/segments/new");
        await Assertions.Expect(page.Locator("button[formaction*='handler=Save']")).ToHaveCountAsync(0);
        var token = await page.Locator("input[name=__RequestVerificationToken]").First.GetAttributeAsync("value");
        var response = await page.APIRequest.PostAsync(shop.BaseUrl + "/segments/new?handler=Save", new()
        {
            Form = FormOf(page.APIRequest, ("__RequestVerificationToken", token!), ("Name", "sneaky"), ("Lines[0].Kind", "all"), ("Lines[0].Depth", "0"),
                ("Lines[1].Kind", "condition"), ("Lines[1].Depth", "1"), ("Lines[1].Field", "recency_days"), ("Lines[1].Op", ">="), ("Lines[1].Value", "1")),
            MaxRedirects = 0,
        });
        Assert.Equal(302, response.Status);
        Assert.Contains("/account/denied", response.Headers["location"]);
        await using var db = shop.Db();
        Assert.False(await db.Segments.AnyAsync(s => s.Name == "sneaky"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ATamperedAntiforgeryTokenIsRefused(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        var page = await shop.SignInAsync(chromium.Browser, "mara@shop.example", UserRoles.Marketer, "en-GB");
        await page.GotoAsync(shop.BaseUrl + "/segments/new");
        var response = await page.APIRequest.PostAsync(shop.BaseUrl + "/segments/new?handler=Save", new()
        {
            Form = FormOf(page.APIRequest, ("__RequestVerificationToken", "CfDJ8tampered"), ("Name", "forged"), ("Lines[0].Kind", "all"), ("Lines[0].Depth", "0"),
                ("Lines[1].Kind", "condition"), ("Lines[1].Depth", "1"), ("Lines[1].Field", "recency_days"), ("Lines[1].Op", ">="), ("Lines[1].Value", "1")),
            MaxRedirects = 0,
        });
        Assert.Equal(400, response.Status);
        await using var db = shop.Db();
        Assert.False(await db.Segments.AnyAsync(s => s.Name == "forged"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task WrongPasswordsAreRateLimited(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        var context = await shop.AnonymousAsync(chromium.Browser, "en-GB");
        var page = await context.NewPageAsync();
        for (var attempt = 1; attempt <= 6; attempt++)
        {
            await page.GotoAsync(shop.BaseUrl + "/account/sign-in");
            await page.FillAsync("input[name=Email]", "nobody@shop.example");
            await page.FillAsync("input[name=Password]", $"wrong-{attempt}");
            await page.ClickAsync("main button[type=submit]");
        }
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Too many attempts");
    }

    [Fact]
    public async Task TheAccessibilityCheckFindsAnImageWithoutAlternativeTextAndAnUnlabelledField()
    {
        // The check the page tests rely on, against a page known to be wrong: a check that finds nothing fails here.
        await using var context = await chromium.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("""<html lang="en"><head><title>t</title></head><body><main><h1>t</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>""");
        var found = await Accessibility.SeriousViolationsAsync(page);
        Assert.Contains(found, v => v.StartsWith("image-alt (critical)", StringComparison.Ordinal));
        Assert.Contains(found, v => v.StartsWith("label (critical)", StringComparison.Ordinal));
    }

    [Theory, ClassData(typeof(StoresAndLanguages))]
    public async Task EveryPageHasNoSeriousOrCriticalAccessibilityViolation(DatabaseProvider store, string locale)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var anonymous = await (await shop.AnonymousAsync(chromium.Browser, locale)).NewPageAsync();
        var problems = new List<string>();
        await CheckAsync(anonymous, "/account/sign-in");
        var page = await shop.SignInAsync(chromium.Browser, "admin@shop.example", UserRoles.Admin, locale);
        foreach (var path in new[] { "/", "/customers", "/customers/P1", "/segments", "/segments/new", "/segments/1?explain=P1", "/imports", "/?handler=Trend",
                     "/settings/users", "/settings/api-keys", "/settings/configuration", "/account/password" })
            await CheckAsync(page, path);
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        async Task CheckAsync(IPage on, string path)
        {
            var response = await on.GotoAsync(shop.BaseUrl + path);
            Assert.True(response!.Ok, $"{path}: {response.Status}");
            problems.AddRange((await Accessibility.SeriousViolationsAsync(on)).Select(v => $"{path}: {v}"));
        }
    }

    [Theory, ClassData(typeof(StoresAndLanguages))]
    public async Task AnImportShowsItsReportWithTheRejectedRowByLineAndColumnAndJoinsTheHistory(DatabaseProvider store, string locale)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        var page = await shop.SignInAsync(chromium.Browser, "mara@shop.example", UserRoles.Marketer, locale);
        await page.ClickAsync("nav a[href='/imports']");

        // Without a file the form says so beside the file field and imports nothing.
        await page.ClickAsync("main button[type=submit]");
        await Assertions.Expect(page.Locator("#file-error")).ToBeVisibleAsync();

        var csv = "externalId,email,firstName\nI1,ida@example.com,Ida\nI2,not-an-address,Ivo\nI3,ina@example.com,Ina\n";
        await page.SelectOptionAsync("select[name=Kind]", "customers");
        await page.SetInputFilesAsync("input[type=file]", new FilePayload { Name = "kunden.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(csv) });
        await page.ClickAsync("main button[type=submit]");
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex(@"/imports/\d+$"), BrowserShop.Committed);
        var rejected = page.Locator("#report table tbody tr");
        await Assertions.Expect(rejected).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        // The whole row first: if another error stands there, the failure shows its reason.
        await Assertions.Expect(rejected).ToContainTextAsync("email");
        await Assertions.Expect(rejected.Locator("td").Nth(0)).ToHaveTextAsync("3");
        await Assertions.Expect(rejected.Locator("td").Nth(1)).ToHaveTextAsync("email");
        Assert.Empty(await Accessibility.SeriousViolationsAsync(page));

        await page.ClickAsync("nav a[href='/imports']");
        await Assertions.Expect(page.Locator("main table tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("main table tbody tr")).ToContainTextAsync("kunden.csv");
        await using var db = shop.Db();
        Assert.Equal(2, await db.Customers.CountAsync());
    }

    [Theory, ClassData(typeof(StoresAndLanguages))]
    public async Task TheDashboardDrawsTheTrendComparesPeriodsAndAGridCellListsItsCustomers(DatabaseProvider store, string locale)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var page = await shop.SignInAsync(chromium.Browser, "ana@shop.example", UserRoles.Analyst, locale);
        // The trend arrives after the page and Chart.js draws it (served by the app itself).
        await Assertions.Expect(page.Locator("#trend canvas")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await page.WaitForFunctionAsync("() => window.Chart && Chart.getChart(document.querySelector('#trend canvas')) !== undefined");
        Assert.Equal(12, await page.Locator("#trend tbody tr").CountAsync());

        await page.SelectOptionAsync("select[name=days]", "90");
        await page.ClickAsync("form.period button");
        await page.WaitForURLAsync(shop.BaseUrl + "/?days=90", BrowserShop.Committed);

        // P1 (R and F of its own cell) is one of the customers its grid cell links to.
        await using var db = shop.Db();
        var p1 = await (from c in db.Customers join m in db.CustomerMetrics on c.Id equals m.CustomerId where c.ExternalId == "P1" select m).SingleAsync();
        await page.ClickAsync($"table.grid a[href='/customers?r={p1.RScore}&f={p1.FScore}']");
        await Assertions.Expect(page.Locator("#results")).ToContainTextAsync("P1");
        var inCell = await db.CustomerMetrics.CountAsync(m => m.RScore == p1.RScore && m.FScore == p1.FScore);
        await Assertions.Expect(page.Locator("#results tbody tr")).ToHaveCountAsync(inCell);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAdminErasesACustomerOnlyAfterTypingTheExternalId(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var page = await shop.SignInAsync(chromium.Browser, "admin@shop.example", UserRoles.Admin, "en-GB");
        await page.GotoAsync(shop.BaseUrl + "/customers/D1");
        await page.FillAsync("input[name=Confirmation]", "D2");
        await page.ClickAsync("form[action*='handler=Erase'] button");
        await Assertions.Expect(page.Locator("#confirmation-error")).ToContainTextAsync("Type the customer's external id exactly");
        await using (var db = shop.Db()) Assert.Null((await db.Customers.SingleAsync(c => c.ExternalId == "D1")).ErasedAt);

        await page.FillAsync("input[name=Confirmation]", "D1");
        await page.ClickAsync("form[action*='handler=Erase'] button");
        await page.WaitForURLAsync(new System.Text.RegularExpressions.Regex(@"/customers/[^/?]+\?erased=true$"), BrowserShop.Committed);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("(erased)");
        await using (var db = shop.Db())
        {
            Assert.False(await db.Customers.AnyAsync(c => c.ExternalId == "D1"));
            Assert.Equal(1, await db.Customers.CountAsync(c => c.ErasedAt != null));
            Assert.Equal("admin@shop.example", (await db.AuditLog.SingleAsync(a => a.Subject == "D1")).Actor);
        }
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheSegmentListFillsInEachMemberCountAfterThePageAndWithoutJavaScriptOnRequest(DatabaseProvider store)
    {
        await using var shop = await BrowserShop.StartAsync(store);
        await SeedFourAsync(shop);
        var page = await shop.SignInAsync(chromium.Browser, "ana@shop.example", UserRoles.Analyst, "en-GB");
        await page.ClickAsync("nav a[href='/segments']");
        var promoters = page.Locator("tr:has(a:text-is('Promoters')) td").Nth(1);
        await Assertions.Expect(promoters).ToHaveTextAsync("2", new() { Timeout = 10_000 }); // P1 and P2
        var detractors = page.Locator("tr:has(a:text-is('Detractors')) td").Nth(1);
        await Assertions.Expect(detractors).ToHaveTextAsync("1");

        var withoutScripts = await chromium.Browser.NewContextAsync(new() { JavaScriptEnabled = false, StorageState = await page.Context.StorageStateAsync() });
        var plain = await withoutScripts.NewPageAsync();
        await plain.GotoAsync(shop.BaseUrl + "/segments");
        await plain.ClickAsync("tr:has(a:text-is('Promoters')) td >> nth=1 >> a");
        await plain.WaitForURLAsync(shop.BaseUrl + "/segments?counts=true", BrowserShop.Committed);
        await Assertions.Expect(plain.Locator("tr:has(a:text-is('Promoters')) td").Nth(1)).ToHaveTextAsync("2");
        await withoutScripts.DisposeAsync();
    }

    static IFormData FormOf(IAPIRequestContext request, params (string Name, string Value)[] fields)
    {
        var form = request.CreateFormData();
        foreach (var (name, value) in fields) form.Append(name, value);
        return form;
    }
}
