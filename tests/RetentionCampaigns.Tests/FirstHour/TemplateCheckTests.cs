using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 11: links written into the HTML were not checked, problems repeated, functions undocumented.</summary>
public sealed class TemplateCheckTests
{
    static object Content(string html) => new { subject = "Hallo", html };

    [Theory, ClassData(typeof(BothStores))]
    public async Task ScriptAndRelativeLinksInRawHtmlAreErrorsAndEachProblemIsReportedOncePerLanguage(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        const string html = "<p>{{ customer.first_nam }} {{ customer.first_nam }} {{ customer.first_nam }}</p>\n<a href=\"javascript:alert(1)\">x</a>\n<a href='/sale'>y</a>" +
                            "<a href=\"https://shop.example/ok\">ok</a><a href=\"#top\">top</a><a href=\"{{ links.shop }}\">shop</a>{{ include \"footer\" }}";
        var check = await (await app.Api.PostAsJsonAsync("/api/templates/check", new { content = new { de = Content(html), en = Content(html) } })).JsonAsync(200);
        Assert.False(check.GetProperty("valid").GetBoolean());
        var problems = check.GetProperty("problems").EnumerateArray().Where(p => p.GetProperty("severity").GetString() == "error").ToList();
        foreach (var locale in new[] { "de", "en" })
        {
            var mine = problems.Where(p => p.GetProperty("locale").GetString() == locale).ToList();
            Assert.Single(mine, p => p.GetProperty("message").GetString()!.Contains("first_nam"));
            var script = Assert.Single(mine, p => p.GetProperty("message").GetString()!.Contains("javascript:"));
            Assert.Equal(2, script.GetProperty("line").GetInt32());
            var relative = Assert.Single(mine, p => p.GetProperty("message").GetString()!.Contains("\"/sale\" is relative"));
            Assert.Equal(3, relative.GetProperty("line").GetInt32());
            Assert.Equal(3, mine.Count);
        }
    }

    [Fact]
    public async Task TheVocabularyDocumentsWhatEachFunctionTakesAndPrints()
    {
        await using var app = await RetentionApp.StartAsync(DatabaseProvider.Sqlite);
        var vocabulary = await (await app.Api.GetAsync("/api/templates/vocabulary")).JsonAsync(200);
        var functions = vocabulary.GetProperty("functions").EnumerateArray().ToDictionary(h => h.GetProperty("name").GetString()!);
        Assert.Equal(["default", "discount", "format_date", "link", "money", "plural", "referral_url"], functions.Keys.Order());
        Assert.Contains("the number is printed too", functions["plural"].GetProperty("output").GetString());
        Assert.All(functions.Values, h =>
        {
            Assert.False(string.IsNullOrWhiteSpace(h.GetProperty("arguments").GetString()));
            Assert.StartsWith("{{ " + h.GetProperty("name").GetString(), h.GetProperty("example").GetString());
        });
        Assert.Contains("customer.first_name", vocabulary.GetProperty("variables").EnumerateArray().Select(v => v.GetString()));
        var builtins = vocabulary.GetProperty("builtinFunctions");
        Assert.Contains("upcase", builtins.GetProperty("string").EnumerateArray().Select(v => v.GetString()));
        Assert.DoesNotContain("eval", builtins.GetProperty("object").EnumerateArray().Select(v => v.GetString()));
        Assert.False(builtins.TryGetProperty("date", out _));
        Assert.Contains(vocabulary.GetProperty("partials").EnumerateArray(), p => p.GetProperty("usage").GetString()!.StartsWith("{{ wrap layout", StringComparison.Ordinal));
    }
}
