using System.Net;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

/// <summary>Every default template in both languages, against customers with and without name, coupon and metrics.</summary>
public sealed class DefaultTemplateTests
{
    static readonly TemplateEngine Engine = new();

    public static TheoryData<string, string> Templates()
    {
        var data = new TheoryData<string, string>();
        foreach (var definition in DefaultTemplates.All)
            foreach (var locale in LocaleFormat.Supported)
                data.Add(definition.Key, locale);
        return data;
    }

    static TemplateModel Fixture(string locale, string? firstName, bool coupon, bool metrics)
    {
        var sample = SampleModels.For(locale);
        var format = LocaleFormat.For(locale);
        return sample with
        {
            Customer = sample.Customer with { FirstName = firstName, Greeting = format.Greeting(firstName) },
            Offer = coupon ? sample.Offer : null,
            Metrics = metrics ? sample.Metrics : new MetricsView(),
            Links = sample.Links with { Unsubscribe = "https://mail.shop.example/u/TOKEN-" + locale },
        };
    }

    static string Words(string text) => System.Text.RegularExpressions.Regex.Replace(WebUtility.HtmlDecode(text), @"\s+", " ").Trim();

    /// <summary>
    /// The port to Scriban says what the Handlebars templates said: the output of the former engine for the same
    /// customers (with and without first name, coupon and metrics) was recorded at commit bdcd25e.
    /// </summary>
    [Fact]
    public void RendersWhatTheHandlebarsTemplatesRendered()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Templates", "handlebars-output.json"));
        var recorded = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(file)!;
        Assert.Equal(80, recorded.Count);
        foreach (var (name, expected) in recorded)
        {
            var parts = name.Split('/'); // key/locale/name|noname/coupon|nocoupon/metrics|nometrics
            var definition = DefaultTemplates.All.Single(t => t.Key == parts[0]);
            var model = Fixture(parts[1], parts[2] == "name" ? "Jörg" : null, parts[3] == "coupon", parts[4] == "metrics");
            var message = Engine.Render(definition.Content[parts[1]], model, target => "https://t.example/c?" + target);
            Assert.True(Words(expected["subject"]) == Words(message.Subject), $"{name} subject: {message.Subject}");
            Assert.True(Words(expected["html"]) == Words(message.Html), $"{name} html:\n{Words(expected["html"])}\n{Words(message.Html)}");
            Assert.True(Words(expected["text"]) == Words(message.Text), $"{name} text:\n{Words(expected["text"])}\n{Words(message.Text)}");
        }
    }

    [Fact]
    public void TheManifestListsEightTemplatesWithBothLanguages()
    {
        Assert.Equal(
            ["double-opt-in", "loyalty-thank-you", "re-engagement", "referral-invitation", "referral-reward", "service-recovery", "survey-request", "win-back"],
            DefaultTemplates.All.Select(t => t.Key).Order());
        Assert.All(DefaultTemplates.All, t => Assert.Equal(["de", "en"], t.Content.Keys.Order()));
    }

    [Theory, MemberData(nameof(Templates))]
    public void PassesTheCheckAtSave(string key, string locale)
    {
        var definition = DefaultTemplates.All.Single(t => t.Key == key);
        var findings = new TemplateValidator(Engine).Validate(definition.Kind, new Dictionary<string, TemplateContent> { [locale] = definition.Content[locale] });
        Assert.DoesNotContain(findings, f => f.Locale == locale);
    }

    [Theory, MemberData(nameof(Templates))]
    public void RendersForEveryKindOfCustomer(string key, string locale)
    {
        var definition = DefaultTemplates.All.Single(t => t.Key == key);
        foreach (var firstName in new[] { "Jörg", null })
            foreach (var coupon in new[] { true, false })
                foreach (var metrics in new[] { true, false })
                {
                    var model = Fixture(locale, firstName, coupon, metrics);
                    var message = Engine.Render(definition.Content[locale], model);
                    var html = WebUtility.HtmlDecode(message.Html);
                    var context = $"{key}/{locale} name={firstName} coupon={coupon} metrics={metrics}";

                    Assert.False(string.IsNullOrWhiteSpace(message.Subject), context);
                    Assert.DoesNotContain('\n', message.Subject);
                    Assert.True(message.Subject.Length <= TemplateValidator.SubjectWarningLength, $"{context}: subject '{message.Subject}'");
                    Assert.Contains(model.Customer.Greeting, html);
                    Assert.Contains(model.Customer.Greeting, message.Text);
                    Assert.Contains(model.Sender.PostalAddress, html);
                    Assert.Contains(model.Sender.PostalAddress, message.Text);
                    Assert.Contains($"<html lang=\"{locale}\">", message.Html);
                    Assert.Contains("max-width:600px", message.Html);
                    if (definition.Kind == TemplateKinds.Marketing)
                    {
                        Assert.Contains(model.Links.Unsubscribe, message.Html);
                        Assert.Contains(model.Links.Unsubscribe, message.Text);
                        Assert.Contains(model.Links.Preferences, message.Html);
                        Assert.Contains(model.Reason, html);
                    }
                    else Assert.DoesNotContain(model.Links.Unsubscribe, message.Html);
                    if (coupon && key is "win-back" or "re-engagement" or "service-recovery" or "loyalty-thank-you" or "referral-reward") Assert.Contains(model.Offer!.CouponCode, message.Text);
                    if (!coupon) Assert.DoesNotContain("WELCOME-BACK", message.Html);
                    if (key == "service-recovery") Assert.DoesNotContain(model.Links.Referral!, message.Html);
                    if (firstName is null) Assert.DoesNotContain("Jörg", html);
                    Assert.DoesNotContain("{{", message.Html);
                    Assert.DoesNotContain("&amp;nbsp;", message.Html);
                }
    }

    [Fact]
    public void MoneyAndDatesAreFormattedPerLanguageInTheCoupon()
    {
        var definition = DefaultTemplates.All.Single(t => t.Key == "win-back");
        var german = Engine.Render(definition.Content["de"], Fixture("de", "Anna", coupon: true, metrics: true));
        Assert.Contains("12,50 € Rabatt ab einem Bestellwert von 50,00 €, gültig bis 31. Dezember 2026", german.Text);
        Assert.Contains("am 12. März 2026", german.Text);
        var english = Engine.Render(definition.Content["en"], Fixture("en", "Emma", coupon: true, metrics: true));
        Assert.Contains("€12.50 off on orders of €50.00, valid until 31 December 2026", english.Text);
        Assert.Contains("on 12 March 2026", english.Text);
    }

    [Fact]
    public void CustomerDataIsEscapedInHtmlAndLeftAloneInTextAndSubject()
    {
        var definition = DefaultTemplates.All.Single(t => t.Key == "win-back");
        var evil = "<script>alert(\"x\")</script>'O\"Brien";
        var sample = Fixture("en", evil, coupon: true, metrics: true);
        var model = sample with
        {
            Metrics = sample.Metrics with { FavouriteCategory = "<img src=x onerror=alert(1)>" },
            Offer = sample.Offer! with { CouponCode = "\"><b>FREE</b>" },
        };
        var message = Engine.Render(definition.Content["en"], model);
        Assert.DoesNotContain("<script>", message.Html);
        Assert.DoesNotContain("<img src=x", message.Html);
        Assert.DoesNotContain("\"><b>FREE", message.Html);
        Assert.Contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;O&quot;Brien", message.Html);
        Assert.Contains(evil, message.Subject);
        Assert.Contains("\"><b>FREE</b>", message.Text);

        var attributes = Engine.Render(new TemplateContent("x", "<p title=\"{{ customer.attributes.note }}\">{{ customer.attributes.note }}</p>{{ include \"footer\" }}", null),
            model with { Customer = model.Customer with { Attributes = new Dictionary<string, string?> { ["note"] = "\" onmouseover=\"alert(1)" } } });
        Assert.Contains("title=\"&quot; onmouseover=&quot;alert(1)\"", attributes.Html);
    }

    [Fact]
    public void ATextPartIsGeneratedWhenTheTemplateHasNone()
    {
        var definition = DefaultTemplates.All.Single(t => t.Key == "survey-request");
        Assert.Null(definition.Content["de"].Text);
        var message = Engine.Render(definition.Content["de"], Fixture("de", "Anna", coupon: false, metrics: true));
        Assert.Contains("Zur Umfrage (https://shop.example.com/survey)", message.Text);
        Assert.DoesNotContain("<", message.Text.Replace("<br>", ""));
    }

    [Fact]
    public void TrackedLinksGoThroughTheTrackerOnlyWhenOneIsGiven()
    {
        var content = new TemplateContent("s", "<a href=\"{{ link \"https://shop.example/sale?a=1&b=2\" }}\">Sale</a>", null);
        var model = Fixture("de", "Anna", false, false);
        Assert.Contains("href=\"https://shop.example/sale?a=1&amp;b=2\"", Engine.Render(content, model).Html);
        var tracked = Engine.Render(content, model, target => "https://mail.example/c/T?" + target.Length);
        Assert.Contains("href=\"https://mail.example/c/T?33\"", tracked.Html);
    }

    [Fact]
    public void OutputBeyondTheSizeLimitStopsWithAClearError()
    {
        var engine = new TemplateEngine(new RenderLimits { MaxOutputChars = 10_000 });
        var model = Fixture("de", new string('A', 4_000), false, false);
        var error = Assert.Throws<TemplateRenderException>(() =>
            engine.Render(new TemplateContent("s", "{{ customer.first_name }}{{ customer.first_name }}{{ customer.first_name }}", null), model));
        Assert.Contains("beyond 10,000 characters", error.Message);
    }

    [Fact]
    public void RenderingBeyondTheTimeLimitStopsWithAClearError()
    {
        var engine = new TemplateEngine(new RenderLimits { MaxDuration = TimeSpan.Zero });
        var html = string.Concat(Enumerable.Repeat("<p>{{ customer.first_name }}</p>", 1_000));
        var error = Assert.Throws<TemplateRenderException>(() => engine.Render(new TemplateContent("s", html, null), Fixture("de", "Anna", false, false)));
        Assert.Contains("took longer than 0 ms", error.Message);
    }
}
