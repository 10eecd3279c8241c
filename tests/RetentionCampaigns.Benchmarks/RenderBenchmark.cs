using System.Diagnostics;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Links;
using RetentionCampaigns.Templates;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// Complete messages (subject, HTML and text of the win-back template) per second on one thread, against the
/// floor: the same three compiled Handlebars calls on the same data, with nothing of ours around them. Ours adds
/// what every message of a campaign needs: its model with freshly signed unsubscribe and preference links, the
/// limit-checking writer, the subject clean-up and tracked links.
/// </summary>
public static class RenderBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        var messages = Option(args, "--messages", 200_000);
        var engine = new TemplateEngine();
        var content = DefaultTemplates.All.Single(t => t.Key == "win-back").Content["de"];
        var sample = SampleModels.For("de");
        var links = new LinkBuilder(new LinkTokens(new Dictionary<int, byte[]> { [1] = new byte[32] }, TimeProvider.System),
            Options.Create(new PublicLinkOptions { PublicBaseUrl = "https://mail.shop.example" }));

        var subject = engine.Compile("de", false, content.Subject);
        var html = engine.Compile("de", true, content.Html);
        var text = engine.Compile("de", false, content.Text!);
        long floorChars = 0;
        var floor = Measure(messages, i =>
        {
            var s = new StringWriter(); subject(s, sample);
            var h = new StringWriter(); html(h, sample);
            var t = new StringWriter(); text(t, sample);
            floorChars += s.GetStringBuilder().Length + h.GetStringBuilder().Length + t.GetStringBuilder().Length;
        });

        if (args.Contains("--parts"))
        {
            Console.WriteLine($"engine.Render without links {Measure(messages, _ => engine.Render(content, sample)):N0}/s");
            Console.WriteLine($"3 signed links {Measure(messages, i => { links.Unsubscribe(i); links.Preferences(i); links.Click(i, "https://shop.example.com/"); }):N0}/s");
            Console.WriteLine($"subject {Measure(messages, _ => subject(new StringWriter(), sample)):N0}/s");
            Console.WriteLine($"html {Measure(messages, _ => html(new StringWriter(), sample)):N0}/s");
            Console.WriteLine($"text {Measure(messages, _ => text(new StringWriter(), sample)):N0}/s");
            foreach (var probe in new[] { "{{> header}}", "{{> footer}}", "{{> coupon}}", "{{> button href=links.shop label=\"x\"}}", "{{#> layout preheader=\"p\"}}x{{/layout}}", "{{customer.greeting}}", "{{date metrics.lastOrderAt}}" })
            {
                var compiled = engine.Compile("de", true, probe);
                Console.WriteLine($"{probe}: {Measure(messages, _ => compiled(new StringWriter(), sample)):N0}/s");
            }
        }
        long oursChars = 0;
        var ours = Measure(messages, i =>
        {
            var customerId = 1_000_000 + i;
            var model = sample with
            {
                Links = sample.Links with { Unsubscribe = links.Unsubscribe(customerId), Preferences = links.Preferences(customerId) },
            };
            var message = engine.Render(content, model, target => links.Click(customerId, target));
            oursChars += message.Subject.Length + message.Html.Length + message.Text.Length;
        });

        var ratio = floor / ours;
        Console.WriteLine($"render: message size {oursChars / messages:N0} characters (floor {floorChars / messages:N0}: without signed links)");
        Console.WriteLine($"render: floor (bare compiled Handlebars, 3 parts): {floor:N0} messages/s");
        Console.WriteLine($"render: ours (model with signed links, limits, tracked links): {ours:N0} messages/s (goal >= 50,000/s)");
        Console.WriteLine($"render: cost ratio {ratio:F2} x the floor (goal <= 3.00 x)");
        var ok = ours >= 50_000 && ratio <= 3;
        Console.WriteLine(ok ? "render: PASS" : "render: FAIL");
        return Task.FromResult(ok ? 0 : 1);
    }

    /// <summary>Messages per second over <paramref name="count"/> calls after a warm-up of a tenth as many.</summary>
    static double Measure(int count, Action<int> render)
    {
        for (var i = 0; i < count / 10; i++) render(i);
        GC.Collect();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) render(i);
        return count / watch.Elapsed.TotalSeconds;
    }
}
