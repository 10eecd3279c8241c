using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RetentionCampaigns.Tests.Pages;

/// <summary>Issue 16, foundation: the UI's scripts come from npm by the locked versions and are served by the app itself.</summary>
public sealed partial class UiAssetsTests
{
    static string Repository([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", ".."));

    [Fact]
    public async Task HtmxAndChartJsAreServedFromAssetsInTheVersionsOfTheLockfile()
    {
        await using var app = await RetentionApp.StartAsync(global::RetentionCampaigns.Data.DatabaseProvider.Sqlite);
        using var lockfile = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Repository(), "src", "RetentionCampaigns", "package-lock.json")));
        var packages = lockfile.RootElement.GetProperty("packages");
        var anonymous = app.CreateClient();
        foreach (var (path, package) in new[] { ("/assets/lib/htmx.min.js", "htmx.org"), ("/assets/lib/chart.umd.min.js", "chart.js") })
        {
            var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/javascript", response.Content.Headers.ContentType!.MediaType);
            Assert.NotNull(response.Headers.ETag);
            var version = packages.GetProperty($"node_modules/{package}").GetProperty("version").GetString()!;
            Assert.Contains(version, await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/assets/ui.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/assets/lib/jquery.js")).StatusCode);
        // The lockfile records no download addresses of another registry, and nothing of the libraries is committed.
        Assert.DoesNotContain("\"resolved\"", lockfile.RootElement.GetRawText());
    }

    [GeneratedRegex("T\\[\"((?:[^\"\\\\]|\\\\.)*)\"\\]")]
    private static partial Regex LiteralText();

    [Fact]
    public void EveryLiteralTextOfThePagesHasAGermanTranslation()
    {
        var pages = Path.Combine(Repository(), "src", "RetentionCampaigns", "Pages");
        var german = System.Xml.Linq.XDocument.Load(Path.Combine(pages, "UiText.de.resx")).Root!.Elements("data")
            .Select(d => (string)d.Attribute("name")!).ToHashSet();
        var missing = Directory.EnumerateFiles(pages, "*.cshtml", SearchOption.AllDirectories)
            .SelectMany(file => LiteralText().Matches(File.ReadAllText(file)).Select(m => (File: Path.GetFileName(file), Text: Regex.Unescape(m.Groups[1].Value))))
            .Where(t => !german.Contains(t.Text)).Select(t => $"{t.File}: {t.Text}").Distinct().ToList();
        Assert.True(missing.Count == 0, "Without German: " + string.Join("; ", missing));
    }
}
