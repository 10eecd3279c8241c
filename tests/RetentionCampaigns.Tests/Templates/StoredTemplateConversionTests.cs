using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using RetentionCampaigns.Data;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Tests.Templates;

/// <summary>Template versions stored in Handlebars before the move to Scriban are converted at start, or kept invalid.</summary>
public sealed class StoredTemplateConversionTests
{
    /// <summary>Every construct our Handlebars vocabulary allowed, each with what it printed for the German sample customer.</summary>
    static readonly (string Handlebars, string Printed)[] Constructs =
    [
        ("{{#if customer.firstName}}Hallo {{customer.firstName}}{{else}}Hallo{{/if}}", "Hallo Anna"),
        ("{{#if customer.attributes.missing}}A{{else if metrics.recencyDays}}R{{/if}}", "R"),
        ("{{#unless offer}}keins{{else}}{{money offer.value}}{{/unless}}", "12,50 €"),
        ("{{#each customer.attributes}}{{@key}}={{this}}{{#if @first}}!{{/if}};{{/each}}", "loyaltyTier=gold!;"),
        ("{{#each customer.attributes}}[{{this}}]{{else}}keine{{/each}}", "[gold]"),
        ("{{#with customer}}{{firstName}} {{../customer.lastName}} {{@root.metrics.orderCount}}{{/with}}", "Anna Beispiel 7"),
        ("{{plural metrics.orderCount \"Bestellung\" \"Bestellungen\"}}", "7 Bestellungen"),
        ("{{default customer.attributes.missing \"Kundin\"}} {{default customer.lastName \"x\"}}", "Kundin Beispiel"),
        ("{{date metrics.lastOrderAt \"short\"}} {{date offer.expiresAt}}", "12.03.2026 31. Dezember 2026"),
        ("{{!-- a note --}}{{! another }}\\{{literal}}", "{{literal}}"),
        ("<a href=\"{{link \"https://shop.example/sale\"}}\">{{~ customer.email ~}}</a>", "\">anna@example.com</a>"), // the link goes through the preview's click tracking
        ("{{#if metrics.orderCount}}{{metrics.rfmGroup}}{{/if}} {{#offer}}{{couponCode}}{{/offer}} {{^offer}}none{{/offer}}", "At risk WELCOME-BACK-7Q2F"),
    ];

    static TemplateContent Legacy(string body) => new("Hallo {{customer.firstName}}",
        "{{#> layout preheader=\"Neu\"}}" + body + "{{> button href=(link links.shop) label=\"Los\"}}{{/layout}}", null);

    [Theory, ClassData(typeof(BothStores))]
    public async Task HandlebarsVersionsAreConvertedAtStartAndNothingIsLost(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var body = string.Join("<br>\n", Constructs.Select(c => c.Handlebars));
        var legacy = new Dictionary<string, TemplateContent> { ["de"] = Legacy(body) };
        var broken = new Dictionary<string, TemplateContent> { ["de"] = Legacy("{{{customer.firstName}}}") };
        await StoreAsync(app, "legacy", legacy);
        await StoreAsync(app, "legacy-broken", broken);

        Assert.Equal(2, await ConvertAsync(app));
        Assert.Equal(0, await ConvertAsync(app)); // once only, also when another node starts

        var converted = await VersionAsync(app, "legacy");
        Assert.True(converted.Valid, string.Join(" | ", converted.Problems.Select(p => p.Message)));
        Assert.Equal(TemplateSyntax.Scriban, converted.Syntax);
        Assert.Equal(legacy["de"], converted.FormerContent!["de"]);
        Assert.StartsWith("{{ wrap layout preheader: \"Neu\" }}{{ if !(string.empty customer.first_name) }}Hallo {{ customer.first_name }}", converted.Content["de"].Html);
        Assert.Contains(converted.Problems, p => p.Message.Contains("Converted from Handlebars", StringComparison.Ordinal));
        var detail = await (await app.Api.GetAsync("/api/templates/legacy/versions/1")).JsonAsync(200);
        Assert.Equal(legacy["de"].Html, detail.GetProperty("formerContent").GetProperty("de").GetProperty("html").GetString());

        var preview = await (await app.Api.PostAsJsonAsync("/api/templates/legacy/preview", new { locale = "de" })).JsonAsync(200);
        var html = WebUtility.HtmlDecode(preview.GetProperty("html").GetString()!);
        Assert.Equal("Hallo Anna", preview.GetProperty("subject").GetString());
        foreach (var (handlebars, printed) in Constructs) Assert.True(html.Contains(printed, StringComparison.Ordinal), $"{handlebars} should print {printed}");
        Assert.Contains(">Los</a>", html);
        Assert.Contains("Abmelden", html);

        var kept = await VersionAsync(app, "legacy-broken");
        Assert.False(kept.Valid);
        Assert.Equal(broken["de"], kept.Content["de"]);
        Assert.Contains(kept.Problems, p => p.Severity == TemplateFinding.Error && p.Message.Contains("unescaped output", StringComparison.Ordinal));
    }

    [Fact]
    public void AnEmptyListsElseBranchRunsInTheOuterContext()
    {
        var converted = HandlebarsConversion.Convert("{{#each customer.attributes}}{{this}}{{else}}{{customer.firstName}}: {{@index}}{{/each}}");
        Assert.Contains("'@index' exists only inside {{#each}}", converted.Problem); // not in the empty list's branch
        converted = HandlebarsConversion.Convert("{{#each customer.attributes}}{{this}}{{else}}{{customer.firstName}}{{/each}}");
        Assert.Equal("{{ for item in customer.attributes }}{{ item.value }}{{ else }}{{ customer.first_name }}{{ end }}", converted.Scriban);
        var sample = SampleModels.For("de");
        var empty = sample with { Customer = sample.Customer with { Attributes = new Dictionary<string, string?>() } };
        var engine = new TemplateEngine();
        Assert.Equal("Anna", engine.Render(new TemplateContent(converted.Scriban!, "x", null), empty).Subject);
        Assert.Equal("gold", engine.Render(new TemplateContent(converted.Scriban!, "x", null), sample).Subject);
    }

    static async Task StoreAsync(RetentionApp app, string key, Dictionary<string, TemplateContent> content) => await app.WithDbAsync(async db =>
    {
        var now = DateTime.UtcNow;
        var template = new MessageTemplate { Key = key, Name = key, Kind = TemplateKinds.Marketing, Version = 1, CreatedAt = now, UpdatedAt = now };
        db.Templates.Add(template);
        await db.SaveChangesAsync();
        db.TemplateVersions.Add(new TemplateVersion
        {
            TemplateId = template.Id, Version = 1, Content = content, Valid = true, CreatedAt = now, Syntax = TemplateSyntax.Handlebars,
        });
        return await db.SaveChangesAsync();
    });

    static Task<int> ConvertAsync(RetentionApp app) => app.ServiceAsync<TemplateValidator, int>(validator =>
        app.WithDbAsync(db => StoredTemplateConversion.ConvertAsync(db, validator, NullLogger.Instance, CancellationToken.None)));

    static Task<TemplateVersion> VersionAsync(RetentionApp app, string key) => app.WithDbAsync(db =>
        (from t in db.Templates join v in db.TemplateVersions on t.Id equals v.TemplateId where t.Key == key select v).AsNoTracking().SingleAsync());
}
