using System.Diagnostics;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

/// <summary>
/// Marketer-written templates and customer data against the sandbox: escaping in HTML only, no way to run data as
/// code, to change what other messages see, or to run away with time or memory, and the 2026 Scriban advisories.
/// </summary>
public sealed class TemplateSandboxTests
{
    static readonly RenderLimits Limits = new();
    static readonly TemplateEngine Engine = new(Limits);
    const string Footer = "{{ include \"footer\" }}";

    static TemplateModel Customer(string? firstName, string? favourite = null)
    {
        var sample = SampleModels.For("en");
        return sample with
        {
            Customer = sample.Customer with { FirstName = firstName, Greeting = LocaleFormat.English.Greeting(firstName) },
            Metrics = sample.Metrics with { FavouriteCategory = favourite },
        };
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")]
    [InlineData("\"><img src=x onerror=alert(1)>", "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")]
    [InlineData("' onmouseover='alert(1)", "&#39; onmouseover=&#39;alert(1)")]
    public void CustomerDataIsEscapedInTextAndAttributePositionsOfHtmlAndLeftAloneElsewhere(string firstName, string escaped)
    {
        var content = new TemplateContent("Hi {{ customer.first_name }}",
            "<p>{{ customer.first_name }}</p><a title=\"{{ customer.first_name }}\" href=\"https://shop.example/?n={{ customer.first_name }}\">x</a>" +
            "<img alt='{{ customer.first_name }}'>{{ customer.first_name | string.upcase }}" + Footer,
            "Hi {{ customer.first_name }}\n" + Footer);
        var message = Engine.Render(content, Customer(firstName));
        Assert.DoesNotContain(firstName, message.Html);
        Assert.Equal(4, CountOf(message.Html, escaped));
        Assert.Contains(firstName.ToUpperInvariant().Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#39;"), message.Html);
        Assert.Equal("Hi " + firstName, message.Subject);
        Assert.StartsWith("Hi " + firstName + "\n", message.Text);
    }

    static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;

    [Fact]
    public void HtmlEscapeIsNotEscapedTwiceAndLiteralTemplateTextIsNotEscaped()
    {
        var message = Engine.Render(new TemplateContent("s", "<b>&amp; {{ customer.first_name | html.escape }} {{ \"<i>\" }}</b>" + Footer, null), Customer("A&B"));
        Assert.Contains("<b>&amp; A&amp;B &lt;i&gt;</b>", message.Html);
        var lines = Engine.Render(new TemplateContent("s", "<p>{{ customer.first_name | html.newline_to_br }}</p>" + Footer, null), Customer("<b>A</b>\nB"));
        Assert.Contains("<p>&lt;b&gt;A&lt;/b&gt;<br />\nB</p>", lines.Html);
    }

    [Fact]
    public void CustomerDataIsNeverRunAsTemplateCode()
    {
        var model = Customer("{{ links.unsubscribe }}{{ for x in 1..10 }}X{{ end }}");
        var shown = Engine.Render(new TemplateContent("{{ customer.first_name }}", "<p>{{ customer.first_name }}</p>" + Footer, null), model);
        Assert.Equal("{{ links.unsubscribe }}{{ for x in 1..10 }}X{{ end }}", shown.Subject);
        foreach (var eval in new[] { "{{ object.eval_template customer.first_name }}", "{{ customer.first_name | object.eval_template }}", "{{ object.eval customer.first_name }}" })
        {
            var error = Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", eval + Footer, null), model));
            Assert.Contains("HTML part could not be rendered", error.Message);
        }
    }

    [Fact]
    public void BuiltInsAreReadOnlyAndATemplatesVariablesDoNotReachTheNextMessage()
    {
        foreach (var write in new[] { "{{ string.x = customer.email }}", "{{ string.upcase = null }}", "{{ html = null }}{{ html.escape \"<\" }}" })
            Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", write + Footer, null), Customer("Ann")));
        var leak = Engine.Render(new TemplateContent("s", "[{{ string.x }}]" + Footer, null), Customer("Bob"));
        Assert.Contains("[]", leak.Html);
        Assert.Equal("BOB", Engine.Render(new TemplateContent("{{ customer.first_name | string.upcase }}", "x" + Footer, null), Customer("Bob")).Subject);

        Engine.Render(new TemplateContent("{{ secret = customer.email }}s", "{{ mine = customer.email }}" + Footer, null), Customer("Ann"));
        var next = Engine.Render(new TemplateContent("[{{ secret }}]", "[{{ mine }}]" + Footer, null), Customer("Bob"));
        Assert.Equal("[]", next.Subject);
        Assert.Contains("[]", next.Html);
    }

    [Fact]
    public void TheModelCannotBeChangedThroughItsInitOnlyProperties()
    {
        var model = Customer("Ann");
        Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", "{{ customer.email = \"evil@example.com\" }}" + Footer, null), model));
        Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", "{{ links.unsubscribe = \"https://evil.example\" }}" + Footer, null), model));
        Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", "{{ customer = null }}" + Footer, null), model));
        Assert.Equal("emma@example.com", model.Customer.Email);
        Assert.Equal(SampleModels.SampleUnsubscribe, model.Links.Unsubscribe);
    }

    [Theory]
    [InlineData("{{ for i in 1..1000000000 }}{{ end }}", "loop ran more than 1,000 times")]
    [InlineData("{{ while true }}{{ end }}", "loop ran more than 1,000 times")]
    [InlineData("{{ for i in 1..40 }}{{ for j in 1..40 }}x{{ end }}{{ end }}", "loop ran more than 1,000 times")]
    [InlineData("{{ func f(x) }}{{ f x }}{{ end }}{{ f 1 }}", "more than 20 levels deep")]
    [InlineData("{{ \"x\" | string.pad_left 1000000000 }}", "beyond 524,288 characters")]
    [InlineData("{{ s = \"0123456789\" }}{{ for i in 1..40 }}{{ s = s + s }}{{ end }}{{ s | string.size }}", "beyond 524,288 characters")]
    [InlineData("{{ \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\" | regex.match \"^(a+)+$\" }}", "regular expression")]
    [InlineData("{{ include \"/etc/passwd\" }}", "could not be rendered")]
    public void ARunawayTemplateEndsAsAClearErrorWithinTheTimeLimit(string html, string expected)
    {
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", html + Footer, null), Customer("Ann")));
        watch.Stop();
        Assert.Contains(expected, error.Message);
        Assert.True(watch.Elapsed < Limits.MaxDuration + TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        Assert.DoesNotContain("root:", error.Message);
    }

    [Fact]
    public void ATemplateThatTripsALimitIsAnInvalidVersionWithTheReason()
    {
        var findings = new TemplateValidator(Engine).Validate(TemplateKinds.Marketing, new Dictionary<string, TemplateContent>
        {
            ["en"] = new("s", "{{ for i in 1..5000 }}.{{ end }}" + Footer, null),
        });
        var error = Assert.Single(findings, f => f.Severity == TemplateFinding.Error);
        Assert.Contains("loop ran more than 1,000 times", error.Message);
    }

    [Fact]
    public void MembersOutsideTheModelStayHiddenAlsoWhenTheContextIsReused()
    {
        var probe = new TemplateContent("s", "[{{ metrics.last_order_at.ticks }}|{{ customer.equality_contract }}|{{ offer.value.amount }}]" + Footer, null);
        var first = Engine.Render(probe, Customer("Ann"));
        Assert.Contains("[||12.50]", first.Html);
        for (var i = 0; i < 50; i++)
        {
            Assert.Throws<TemplateRenderException>(() => Engine.Render(new TemplateContent("s", "{{ while true }}{{ end }}" + Footer, null), Customer("Ann")));
            Engine.Render(new TemplateContent("s", "{{ customer.first_name }}" + Footer, null), Customer("Ann"));
        }
        Assert.Contains("[||12.50]", Engine.Render(probe, Customer("Bob")).Html);
    }

    [Fact]
    public void RendersTheSameOnManyThreadsAtOnce()
    {
        var content = DefaultTemplates.All.Single(t => t.Key == "win-back").Content["de"];
        var expected = Engine.Render(content, SampleModels.For("de"));
        Parallel.For(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var message = Engine.Render(content, SampleModels.For("de"));
            Assert.Equal(expected, message);
        });
    }
}
