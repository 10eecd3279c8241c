using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

public sealed class TemplateCheckerTests
{
    static readonly IReadOnlySet<string> Partials = new HashSet<string> { "layout", "footer", "header", "coupon", "button" };
    static readonly TemplateSandbox Sandbox = new TemplateEngine().Sandbox;

    static List<(int Line, int Column, string Message)> Check(string source) => TemplateChecker.Check(source, Partials, Sandbox);

    static (int Line, int Column, string Message) Single(string source)
    {
        var problems = Check(source);
        Assert.True(problems.Count == 1, $"expected one problem, got: {string.Join(" | ", problems)}");
        return problems[0];
    }

    [Theory]
    [InlineData("Hallo {{ customer.first_name }}, {{ if offer }}{{ money offer.value }} bis {{ format_date offer.expires_at \"short\" }}{{ else }}-{{ end }}")]
    [InlineData("{{ customer.attributes.loyaltyTier }} {{ customer.attributes[\"tier 2\"] }} {{ for a in customer.attributes }}{{ a.key }}={{ a.value }}{{ for.index }}{{ end }}")]
    [InlineData("{{ plural metrics.order_count \"Bestellung\" \"Bestellungen\" }} {{ default customer.first_name \"Kundin\" }} {{ discount offer }}")]
    [InlineData("{{# a comment }}{{## a long\ncomment ##}}{%{ {{ not code }} }%} <a href=\"{{ link \"https://shop.example/sale?a=1\" }}\">x</a>")]
    [InlineData("{{ wrap layout preheader: \"Hi\" }}{{ include \"button\" href: (link links.shop) label: \"Go\" }}{{ end }}")]
    [InlineData("{{ if !offer }}no{{ else if metrics.rfm_group }}{{ metrics.rfm_group }}{{ end }}{{~ customer.email ~}}")]
    [InlineData("{{ customer.first_name | string.upcase }} {{ referral_url }} {{ customer.email | html.escape }} {{ offer.value.amount }}")]
    [InlineData("{{ name = customer.first_name ?? \"du\" }}{{ name }} {{ capture greeting }}Hallo{{ end }}{{ greeting }}")]
    [InlineData("{{ func shout(x) }}{{ ret x | string.upcase }}{{ end }}{{ shout customer.email }}")]
    public void AcceptsWhatTheModelAndFunctionsOffer(string source) => Assert.Empty(Check(source));

    [Fact]
    public void AnUnknownVariableIsReportedWithItsLineAndColumnAndTheKnownNames()
    {
        var (line, column, message) = Single("<p>Hallo</p>\n  <p>{{ customer.frst_name }}</p>");
        Assert.Equal((2, 18), (line, column));
        Assert.Contains("'customer.frst_name'", message);
        Assert.Contains("first_name", message);
    }

    [Fact]
    public void TheFormerCamelCaseNamesAreUnknown() =>
        Assert.Contains("'customer.firstName'", Single("{{ customer.firstName }}").Message);

    [Fact]
    public void AnUnknownFunctionAndAWrongArgumentCountAreErrors()
    {
        Assert.Contains("Unknown function 'shout'", Single("{{ shout customer.first_name }}").Message);
        Assert.Contains("takes 3 arguments, not 1", Single("x {{ plural metrics.order_count }}").Message);
        Assert.Contains("takes 1 argument, not 0", Single("{{ money }}").Message);
        Assert.Contains("Unknown function 'string.shout'", Single("{{ customer.email | string.shout }}").Message);
        Assert.Contains("takes 1 to 2 arguments, not 3", Single("{{ offer.expires_at | format_date \"short\" \"x\" }}").Message);
    }

    [Fact]
    public void AnUnclosedBlockPointsAtItsOpening()
    {
        var (line, column, message) = Single("a\nb {{ if offer }}\n{{ for a in customer.attributes }}{{ end }}c");
        Assert.Equal((2, 3), (line, column));
        Assert.Equal("This {{ if … }} is never closed with {{ end }}.", message);
    }

    [Fact]
    public void AnUnclosedExpressionPointsAtItsStart()
    {
        var (line, column, message) = Single("Hallo {{ customer.first_name\n<p>{{ sender.name }}</p>");
        Assert.Equal((1, 7), (line, column));
        Assert.Equal("This {{ is not closed with }}.", message);
    }

    [Theory]
    [InlineData("{{ end }}", "closes a block that was never opened")]
    [InlineData("{{ \"abc }}", "A text in quotes is not closed")]
    [InlineData("{{ for x in }}{{ end }}", "Expecting a value")]
    public void SyntaxErrorsAreWordedForMarketers(string source, string expected)
    {
        var problems = Check(source);
        Assert.Contains(problems, p => p.Message.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.Message.Contains("Error while parsing", StringComparison.Ordinal) || p.Message.Contains("<EOF>", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{{ link \"/relative\" }}", "absolute http")]
    [InlineData("{{ link \"javascript:alert(1)\" }}", "absolute http")]
    [InlineData("{{ include \"secrets\" }}", "Unknown partial 'secrets'")]
    [InlineData("{{ include customer.first_name }}", "name of one of our partials in quotes")]
    [InlineData("{{ include \"layout\" }}", "wrap layout")]
    [InlineData("{{ wrap footer }}x{{ end }}", "Only the layout can wrap")]
    [InlineData("{{ format_date metrics.last_order_at \"iso\" }}", "\"short\" or \"long\"")]
    [InlineData("{{ object.eval_template customer.first_name }}", "Unknown function 'object.eval_template'")]
    [InlineData("{{ object.eval \"1+1\" }}", "Unknown function 'object.eval'")]
    [InlineData("{{ date.now }}", "Unknown variable 'date'")]
    [InlineData("{{ string.x = customer.email }}", "cannot be changed")]
    [InlineData("{{ customer = null }}", "cannot be changed")]
    [InlineData("{{ customer.first_name = \"x\" }}", "cannot be changed")]
    [InlineData("{{ links[\"unsubscribe\"] = \"x\" }}", "cannot be changed")]
    [InlineData("{{ string }}", "group of functions")]
    public void RefusesWhatCouldLeakOrBreak(string source, string expected)
    {
        var problems = Check(source);
        Assert.Contains(problems, p => p.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ReportsEveryProblemNotJustTheFirst()
    {
        var problems = Check("{{ a }}\n{{ b }}\n{{ customer.c }}");
        Assert.Equal([1, 2, 3], problems.Select(p => p.Line));
    }

    [Theory]
    [InlineData("{{ offer.coupon_code }}", 1)]
    [InlineData("Code {{ offer.coupon_code }}\n{{ discount offer }}", 2)]
    [InlineData("{{ if offer }}{{ offer.coupon_code }} {{ discount offer }}{{ end }}", 0)]
    [InlineData("{{ if offer && offer.value }}{{ money offer.value }}{{ end }}{{ include \"coupon\" }}", 0)]
    [InlineData("{{ customer.greeting }}", 0)]
    public void FindsWhereTheOfferIsShownWithoutAGuard(string source, int uses) =>
        Assert.Equal(uses, TemplateChecker.UnguardedOfferUses(source).Count);
}
