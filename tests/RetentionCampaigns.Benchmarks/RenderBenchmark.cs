using System.Diagnostics;
using Microsoft.Extensions.Options;
using Scriban.Runtime;
using RetentionCampaigns.Links;
using RetentionCampaigns.Templates;

using static RetentionCampaigns.Benchmarks.BenchmarkHost;

namespace RetentionCampaigns.Benchmarks;

/// <summary>
/// Complete messages (subject, HTML and text of the win-back template) per second on one thread, against the
/// floor: a bare Scriban <c>Template.Render</c> of the same three parsed templates and model, the way Scriban's
/// documentation renders (a new context per render, the model imported into a script object), with our functions
/// available and nothing else of ours around it. Ours adds what every message of a campaign needs: its model with
/// freshly signed unsubscribe and preference links, HTML escaping, the limits, the subject clean-up and tracked links.
/// </summary>
public static class RenderBenchmark
{
    public static Task<int> RunAsync(string[] args)
    {
        var messages = Option(args, "--messages", 100_000);
        var engine = new TemplateEngine();
        var content = DefaultTemplates.All.Single(t => t.Key == "win-back").Content["de"];
        var sample = SampleModels.For("de");
        var links = new LinkBuilder(new LinkTokens(new Dictionary<int, byte[]> { [1] = new byte[32] }, TimeProvider.System),
            Options.Create(new PublicLinkOptions { PublicBaseUrl = "https://mail.shop.example" }));

        var subject = engine.Parse("de", false, content.Subject);
        var html = engine.Parse("de", true, content.Html);
        var text = engine.Parse("de", false, content.Text!);
        string Bare(Scriban.Template template, object model)
        {
            var context = new Scriban.TemplateContext(engine.Sandbox.Builtins);
            var globals = new Scriban.Runtime.ScriptObject();
            globals.Import(model);
            context.PushGlobal(globals);
            return template.Render(context);
        }
        long floorChars = 0;
        var (floor, floorBytes) = Measure(messages, i =>
        {
            floorChars += Bare(subject, sample).Length + Bare(html, sample).Length + Bare(text, sample).Length;
        });

        // For reference: the bare render with one context reused on the thread (what our engine does, without the
        // escaping, limits and links), so the floor's cost of setting up a context is visible.
        var reused = new Scriban.TemplateContext(engine.Sandbox.Builtins);
        var reusedGlobals = new ScriptObject();
        reusedGlobals.Import(sample);
        reused.PushGlobal(reusedGlobals);
        var (bareReused, bareReusedBytes) = Measure(messages, _ =>
        {
            subject.Render(reused);
            html.Render(reused);
            text.Render(reused);
        });

        if (args.Contains("--parts"))
        {
            Console.WriteLine($"engine.Render without links {Measure(messages, _ => engine.Render(content, sample)).PerSecond:N0}/s");
            Console.WriteLine($"3 signed links {Measure(messages, i => { links.Unsubscribe(i); links.Preferences(i); links.Click(i, "https://shop.example.com/"); }).PerSecond:N0}/s");
            Console.WriteLine($"bare subject {Measure(messages, _ => Bare(subject, sample)).PerSecond:N0}/s");
            Console.WriteLine($"bare html {Measure(messages, _ => Bare(html, sample)).PerSecond:N0}/s");
            Console.WriteLine($"bare text {Measure(messages, _ => Bare(text, sample)).PerSecond:N0}/s");
        }
        long oursChars = 0;
        var (ours, oursBytes) = Measure(messages, i =>
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
        Console.WriteLine($"render: floor (bare Scriban Template.Render, 3 parts): {floor:N0} messages/s, {floorBytes:N0} bytes allocated per message");
        Console.WriteLine($"render: for reference, bare with one reused context: {bareReused:N0} messages/s, {bareReusedBytes:N0} bytes allocated per message");
        Console.WriteLine($"render: ours (model with signed links, escaping, limits, tracked links): {ours:N0} messages/s (goal >= 20,000/s), {oursBytes:N0} bytes allocated per message");
        Console.WriteLine($"render: cost ratio {ratio:F2} x the floor (goal <= 1.50 x)");
        var ok = ours >= 20_000 && ratio <= 1.5;
        Console.WriteLine(ok ? "render: PASS" : "render: FAIL");
        return Task.FromResult(ok ? 0 : 1);
    }

    /// <summary>Messages per second and bytes allocated per message over <paramref name="count"/> calls after a warm-up of a tenth as many.</summary>
    static (double PerSecond, long BytesPerMessage) Measure(int count, Action<int> render)
    {
        for (var i = 0; i < count / 10; i++) render(i);
        GC.Collect();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < count; i++) render(i);
        var seconds = watch.Elapsed.TotalSeconds;
        return (count / seconds, (GC.GetAllocatedBytesForCurrentThread() - allocated) / count);
    }
}
