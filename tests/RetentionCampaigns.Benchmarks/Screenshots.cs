using Microsoft.Playwright;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// The README's screenshots, taken from the demo shop in Debian's Chromium at 1280 px: the dashboard with its trend
/// and RFM grid, the segment builder with a two-condition rule and its live count, and a customer page
/// (<c>--locale de-DE</c> for the German pages).
/// </summary>
public static class Screenshots
{
    public static async Task<int> RunAsync(string[] args)
    {
        var at = Array.IndexOf(args, "--out");
        var folder = Path.GetFullPath(at >= 0 && at + 1 < args.Length ? args[at + 1] : Path.Combine("docs", "screenshots"));
        Directory.CreateDirectory(folder);
        var file = Path.Combine(Path.GetTempPath(), $"rc-screenshots-{Guid.NewGuid():N}.db");
        try
        {
            var settings = AppProcess.Settings("Sqlite", $"Data Source={file}");
            await using var app = await AppProcess.StartAsync("demo", settings, await AppProcess.CreateApiKeyAsync(settings, "screenshots"), "--demo");
            var (email, password) = await app.DemoSignInAsync();
            var baseUrl = app.BaseAddress.ToString().TrimEnd('/');

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
            var page = await (await browser.NewContextAsync(new() { Locale = BenchmarkHost.OptionText(args, "--locale") ?? "en-GB", ViewportSize = new() { Width = 1280, Height = 900 } })).NewPageAsync();
            await page.GotoAsync(baseUrl + "/account/sign-in");
            await page.FillAsync("input[name=Email]", email);
            await page.FillAsync("input[name=Password]", password);
            await page.ClickAsync("main button[type=submit]");
            await page.WaitForURLAsync(baseUrl + "/");
            await page.WaitForFunctionAsync("() => window.Chart && document.querySelector('#trend canvas') && Chart.getChart(document.querySelector('#trend canvas'))");
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "dashboard.png"), FullPage = true });

            await page.GotoAsync(baseUrl + "/segments/new");
            await page.FillAsync("input[name=Name]", "Promoters who have not ordered for 90 days");
            await page.ClickAsync("button[value='add-condition:0']");
            await page.WaitForFunctionAsync("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-added')");
            await page.SelectOptionAsync("select[name='Lines[2].Field']", "nps_category");
            await page.Locator("select[name='Lines[2].Value']").WaitForAsync();
            await page.WaitForFunctionAsync("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-added')");
            await page.FillAsync("input[name=explain]", "C00006");
            await page.ClickAsync("button[value=explain]");
            await page.Locator("#explain table").WaitForAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "segment-builder.png"), FullPage = true });

            await page.GotoAsync(baseUrl + "/customers/C00006");
            await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "customer.png"), FullPage = true });
            Console.WriteLine($"screenshots: dashboard.png, segment-builder.png, customer.png in {folder}");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(file + suffix);
        }
    }
}
