using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

public sealed class TemplateCheckerTests
{
    static readonly IReadOnlySet<string> Partials = new HashSet<string> { "layout", "footer", "header", "coupon", "button" };

    static List<(int Line, int Column, string Message)> Check(string source) => TemplateChecker.Check(source, Partials, new TemplateEngine().Sandbox);

    static (int Line, int Column, string Message) Single(string source)
    {
        var problems = Check(source);
        Assert.True(problems.Count == 1, $"expected one problem, got: {string.Join(" | ", problems)}");
        return problems[0];
    }

    [Theory]
    [InlineData("Hallo {{customer.firstName}}, {{#if offer}}{{money offer.value}} bis {{date offer.expiresAt \"short\"}}{{else}}-{{/if}}")]
    [InlineData("{{#with customer}}{{firstName}} {{../sender.name}} {{attributes.anything}}{{/with}}")]
    [InlineData("{{plural metrics.orderCount \"Bestellung\" \"Bestellungen\"}} {{default customer.firstName \"Kundin\"}}")]
    [InlineData("{{!-- a {{comment}} with braces --}}{{! short }}\\{{not a tag}} <a href=\"{{link \"https://shop.example/sale?a=1\"}}\">x</a>")]
    [InlineData("{{#> layout preheader=\"Hi\"}}{{> button href=(link links.shop) label=\"Go\"}}{{/layout}}")]
    [InlineData("{{#unless offer}}no{{else if metrics.rfmGroup}}{{metrics.rfmGroup}}{{/unless}}{{~customer.email~}}")]
    public void AcceptsWhatTheModelAndHelpersOffer(string source) => Assert.Empty(Check(source));

    [Fact]
    public void AnUnknownVariableIsReportedWithItsLineAndColumnAndTheKnownNames()
    {
        var (line, column, message) = Single("<p>Hallo</p>\n  <p>{{customer.frstName}}</p>");
        Assert.Equal((2, 6), (line, column));
        Assert.Contains("'customer.frstName'", message);
        Assert.Contains("firstName", message);
    }

    [Fact]
    public void AnUnknownHelperAndAWrongArgumentCountAreErrors()
    {
        Assert.Contains("Unknown helper 'shout'", Single("{{shout customer.firstName}}").Message);
        Assert.Contains("takes 3 arguments, not 1", Single("x {{plural metrics.orderCount}}").Message);
        Assert.Contains("'money' is not a block helper", Single("{{#money offer.value}}{{/money}}").Message);
    }

    [Fact]
    public void AnUnclosedBlockPointsAtItsOpening()
    {
        var (line, column, message) = Single("a\nb {{#if offer}}\nc");
        Assert.Equal((2, 3), (line, column));
        Assert.Contains("never closed", message);
    }

    [Fact]
    public void AMismatchedCloseNamesBothEnds()
    {
        var (line, column, message) = Single("{{#if offer}}\n{{/each}}");
        Assert.Equal((2, 1), (line, column));
        Assert.Contains("does not match {{#if}} opened at line 1, column 1", message);
    }

    [Fact]
    public void AnUnclosedExpressionIsAnErrorAtItsStart()
    {
        var (line, column, message) = Single("Hallo {{customer.firstName\n<p>");
        Assert.Equal((1, 7), (line, column));
        Assert.Contains("not closed", message);
    }

    [Theory]
    [InlineData("{{{customer.firstName}}}", "Unescaped output")]
    [InlineData("{{& customer.firstName}}", "Unescaped output")]
    [InlineData("{{link \"/relative\"}}", "absolute http")]
    [InlineData("{{link \"javascript:alert(1)\"}}", "absolute http")]
    [InlineData("{{#each customer}}{{/each}}", "is not a list")]
    [InlineData("{{@index}}", "only inside {{#each}}")]
    [InlineData("{{> secrets}}", "Unknown partial 'secrets'")]
    [InlineData("{{else}}", "outside of an")]
    [InlineData("{{/if}}", "never opened")]
    [InlineData("{{../customer}}", "above the top")]
    [InlineData("{{date metrics.lastOrderAt \"iso\"}}", "\"short\" or \"long\"")]
    [InlineData("{{#*inline \"x\"}}{{/inline}}", "Decorators")]
    public void RefusesWhatCouldLeakOrBreak(string source, string expected)
    {
        var problems = Check(source);
        Assert.Contains(problems, p => p.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReportsEveryProblemNotJustTheFirst()
    {
        var problems = Check("{{a}}\n{{b}}\n{{customer.c}}");
        Assert.Equal([1, 2, 3], problems.Select(p => p.Line));
    }
}
