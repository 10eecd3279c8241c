using System.Net.Http.Json;
using System.Text.Json;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;

namespace RetentionCampaigns.Tests.Templates;

public sealed class TemplatesApiTests
{
    const string Footer = "{{ include \"footer\" }}";

    static object Content(string subject, string html, string? text = null) => new { subject, html, text };

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheDefaultTemplatesAreSeededValidAndReadable(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var list = (await (await app.Api.GetAsync("/api/templates")).JsonAsync(200)).EnumerateArray().ToList();
        Assert.Equal(8, list.Count);
        Assert.All(list, t =>
        {
            Assert.True(t.GetProperty("valid").GetBoolean(), t.GetProperty("key").GetString());
            Assert.True(t.GetProperty("builtIn").GetBoolean());
            Assert.Equal(1, t.GetProperty("version").GetInt32());
            Assert.Equal(["de", "en"], t.GetProperty("locales").EnumerateArray().Select(l => l.GetString()));
        });
        var winBack = await (await app.Api.GetAsync("/api/templates/win-back")).JsonAsync(200);
        Assert.Contains("{{ wrap layout", winBack.GetProperty("content").GetProperty("de").GetProperty("html").GetString());
        Assert.Equal("service", (await (await app.Api.GetAsync("/api/templates/double-opt-in")).JsonAsync(200)).GetProperty("kind").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ATemplateWithErrorsIsSavedAsInvalidWithPositionsAndAFixIsANewVersion(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var created = await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "spring-sale", name = "Spring sale",
            content = new { de = Content("Frühling, {{ customer.first_nam }}", "<p>Hallo</p>\n<p>{{ if offer }}Code</p>") },
        })).JsonAsync(201);
        Assert.False(created.GetProperty("valid").GetBoolean());
        var problems = created.GetProperty("problems").EnumerateArray()
            .Select(p => (p.GetProperty("severity").GetString(), p.GetProperty("part").GetString(),
                p.GetProperty("line").ValueKind == JsonValueKind.Null ? 0 : p.GetProperty("line").GetInt32(),
                p.GetProperty("column").ValueKind == JsonValueKind.Null ? 0 : p.GetProperty("column").GetInt32()))
            .ToList();
        Assert.Contains(("error", "subject", 1, 23), problems); // at the unknown member
        Assert.Contains(("error", "html", 2, 4), problems); // where the unclosed if was opened
        Assert.Contains(("warning", "template", 0, 0), problems); // no English version

        var preview = await app.Api.PostAsJsonAsync("/api/templates/spring-sale/preview", new { });
        var errors = await preview.ProblemErrorsAsync(422);
        Assert.Contains(errors["content.de.subject"], e => e.StartsWith("line 1, column 23:", StringComparison.Ordinal));

        var fixedVersion = await (await app.Api.PutAsJsonAsync("/api/templates/spring-sale", new
        {
            content = new { de = Content("Frühling, {{ customer.first_name }}", "<p>{{ customer.greeting }}</p>{{ if offer }}<p>{{ offer.coupon_code }}</p>{{ end }}" + Footer) },
        })).JsonAsync(200);
        Assert.True(fixedVersion.GetProperty("valid").GetBoolean());
        Assert.Equal(2, fixedVersion.GetProperty("version").GetInt32());
        var versions = await (await app.Api.GetAsync("/api/templates/spring-sale/versions")).JsonAsync(200);
        Assert.Equal([2, 1], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.False((await (await app.Api.GetAsync("/api/templates/spring-sale/versions/1")).JsonAsync(200)).GetProperty("valid").GetBoolean());

        // The same content again is no new version.
        var same = await (await app.Api.PutAsJsonAsync("/api/templates/spring-sale", new
        {
            name = "Spring sale 2026",
            content = new { de = Content("Frühling, {{ customer.first_name }}", "<p>{{ customer.greeting }}</p>{{ if offer }}<p>{{ offer.coupon_code }}</p>{{ end }}" + Footer) },
        })).JsonAsync(200);
        Assert.Equal(2, same.GetProperty("version").GetInt32());
        Assert.Equal("Spring sale 2026", same.GetProperty("name").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task LintErrorsForAMissingUnsubscribeLinkOrAddressAndAWarningForALongSubject(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var check = await (await app.Api.PostAsJsonAsync("/api/templates/check", new
        {
            content = new { en = Content(new string('x', 79), "<p>{{ customer.greeting }} no footer</p>") },
        })).JsonAsync(200);
        Assert.False(check.GetProperty("valid").GetBoolean());
        var messages = check.GetProperty("problems").EnumerateArray().Select(p => (p.GetProperty("severity").GetString(), p.GetProperty("message").GetString()!)).ToList();
        Assert.Contains(messages, m => m.Item1 == "error" && m.Item2.Contains("no unsubscribe link"));
        Assert.Contains(messages, m => m.Item1 == "error" && m.Item2.Contains("postal address is missing"));
        Assert.Contains(messages, m => m.Item1 == "warning" && m.Item2.Contains("79 characters"));

        var service = await (await app.Api.PostAsJsonAsync("/api/templates/check", new
        {
            kind = "service", content = new { en = Content("Confirm", "<a href=\"{{ links.confirm }}\">Confirm</a> {{ sender.postal_address }}") },
        })).JsonAsync(200);
        Assert.DoesNotContain(service.GetProperty("problems").EnumerateArray(), p => p.GetProperty("severity").GetString() == "error");
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task PreviewRendersForARealCustomerInTheirLanguageWithSignedLinks(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/K1", new { email = "k1@example.com", firstName = "Jürgen", locale = "de" })).JsonAsync(201);
        await (await app.Api.PutAsJsonAsync("/api/customers/K2", new { email = "k2@example.com", locale = "en" })).JsonAsync(201);
        await (await app.Api.PutAsJsonAsync("/api/orders/O1", new
        {
            customerId = "K1", orderedAt = DateTimeOffset.UtcNow.AddDays(-40), amount = 80m,
            lines = new object[] { new { sku = "S1", category = "Schuhe", quantity = 2 }, new { sku = "S2", category = "Taschen", quantity = 1 } },
        })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);

        var german = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { customerId = "K1" })).JsonAsync(200);
        Assert.Equal("de", german.GetProperty("locale").GetString());
        Assert.Equal("Jürgen, wir vermissen Sie", german.GetProperty("subject").GetString());
        var html = german.GetProperty("html").GetString()!;
        Assert.Contains("Hallo Jürgen,", html);
        Assert.Contains("im Bereich „Schuhe“", html);
        var unsubscribe = System.Text.RegularExpressions.Regex.Match(html, "href=\"http://localhost:5080/u/([A-Za-z0-9_-]+)\"");
        Assert.True(unsubscribe.Success, html);
        var tokens = await app.ServiceAsync<LinkTokens, LinkTokens>(Task.FromResult);
        Assert.True(tokens.TryVerify(unsubscribe.Groups[1].Value, LinkPurpose.Unsubscribe, out var claims, out _));
        var k1 = await app.WithDbAsync(db => Task.FromResult(db.Customers.Single(c => c.ExternalId == "K1").Id));
        Assert.Equal(k1, claims!.CustomerId);
        Assert.True(claims.Test); // a preview's link shows the page and changes nothing

        var english = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { customerId = "K2" })).JsonAsync(200);
        Assert.Equal("en", english.GetProperty("locale").GetString());
        Assert.Equal("We miss you", english.GetProperty("subject").GetString());
        Assert.Contains("Hello,", english.GetProperty("text").GetString());

        var sample = await (await app.Api.PostAsJsonAsync("/api/templates/referral-invitation/preview", new { locale = "en" })).JsonAsync(200);
        Assert.Contains("Hi Emma,", sample.GetProperty("html").GetString());

        var missing = await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { customerId = "nobody" });
        Assert.Equal(404, (int)missing.StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ATestSendGoesThroughTheConfiguredTransportWithOneClickHeaders(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/K1", new { email = "k1@example.com", firstName = "Jürgen", locale = "de" })).JsonAsync(201);
        var sent = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { to = "marketing@shop.example", customerId = "K1" })).JsonAsync(200);
        Assert.Equal("de", sent.GetProperty("locale").GetString());
        Assert.StartsWith("pickup folder", sent.GetProperty("transport").GetString());
        var file = Assert.Single(Directory.GetFiles(app.Outbox, "*.eml"));
        var eml = await File.ReadAllTextAsync(file);
        Assert.Contains($"Message-ID: <{sent.GetProperty("messageId").GetString()}>\r\n", eml);
        Assert.Equal(["marketing@shop.example"], OutboxMessage.Read(file).To);
        Assert.Matches(@"List-Unsubscribe:\s+<http://localhost:5080/u/[A-Za-z0-9_-]+>\r\n", eml);
        Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", eml);
        Assert.Contains("Subject: =?utf-8?B?", eml); // "[Test] Jürgen, wir vermissen Sie" as encoded-words
        Assert.Contains("multipart/alternative", eml);

        var sample = await (await app.Api.PostAsJsonAsync("/api/templates/double-opt-in/test-send", new { to = "m@shop.example", locale = "en" })).JsonAsync(200);
        Assert.Equal("en", sample.GetProperty("locale").GetString());
        var service = await File.ReadAllTextAsync(Directory.GetFiles(app.Outbox, "*.eml").Single(f => f != file));
        Assert.DoesNotContain("List-Unsubscribe", service); // a service email has no unsubscribe

        Assert.Contains("to", (await (await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { to = "not an address" })).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("to", (await (await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(404, (int)(await app.Api.PostAsJsonAsync("/api/templates/nope/test-send", new { to = "m@shop.example" })).StatusCode);
        Assert.Equal(404, (int)(await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { to = "m@shop.example", customerId = "nobody" })).StatusCode);

        await (await app.Api.PostAsJsonAsync("/api/templates", new { key = "broken", name = "Broken", content = new { de = Content("s", "{{ if offer }}") } })).JsonAsync(201);
        Assert.Contains("template", (await (await app.Api.PostAsJsonAsync("/api/templates/broken/test-send", new { to = "m@shop.example" })).ProblemErrorsAsync(422)).Keys);
        Assert.Equal(2, Directory.GetFiles(app.Outbox, "*.eml").Length);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task WithTheSmtpTransportATestSendReachesTheServer(DatabaseProvider store)
    {
        // Postfix's smtp-sink on a free port, writing each received message to a file.
        var dump = Path.Combine(Path.GetTempPath(), "rc-sink-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dump);
        try
        {
            using var sink = await SmtpSink.StartAsync("-d", dump + "/%H%M%S.");
            await using var app = await RetentionApp.StartAsync(store, sink.AppSettings());
            var sent = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { to = "marketing@shop.example" })).JsonAsync(200);
            Assert.Equal($"SMTP server 127.0.0.1:{sink.Port}", sent.GetProperty("transport").GetString());
            var deadline = DateTime.UtcNow.AddSeconds(10);
            var messageId = sent.GetProperty("messageId").GetString()!;
            while (!Directory.GetFiles(dump, "*", SearchOption.AllDirectories).Any(f => File.ReadAllText(f).Contains(messageId)) && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            Assert.Contains(Directory.GetFiles(dump, "*", SearchOption.AllDirectories), f => File.ReadAllText(f).Contains($"Message-ID: <{messageId}>"));
            Assert.False(Directory.Exists(app.Outbox), "the pickup folder was used although SMTP is configured");
        }
        finally
        {
            Directory.Delete(dump, recursive: true);
        }
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadRequestsNameTheField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var errors = await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "Bad Key!", kind = "newsletter",
            content = new Dictionary<string, object?> { ["fr"] = Content("s", "h"), ["de"] = new { html = "<p>x</p>" } },
        })).ProblemErrorsAsync(400);
        Assert.Equal(["content.de.subject", "content.fr", "key", "kind", "name"], errors.Keys.Order());

        var conflict = await (await app.Api.PostAsJsonAsync("/api/templates", new
        {
            key = "win-back", name = "Again", content = new { de = Content("s", "h") },
        })).ProblemErrorsAsync(409);
        Assert.Contains("key", conflict.Keys);

        Assert.Contains("content", (await (await app.Api.PostAsJsonAsync("/api/templates", new { key = "x", name = "X" })).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("key", (await (await app.Api.PutAsJsonAsync("/api/templates/win-back", new { key = "other" })).ProblemErrorsAsync(400)).Keys);
        Assert.Contains("locale", (await (await app.Api.PostAsJsonAsync("/api/templates/preview", new
        {
            content = new { de = Content("s", "<p>x</p>" + Footer) }, locale = "en",
        })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/templates/nope")).StatusCode);
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/templates/win-back/versions/9")).StatusCode);
        await (await app.Api.PostAsync("/api/templates", new StringContent("{\"key\": 5", System.Text.Encoding.UTF8, "application/json"))).ProblemErrorsAsync(400);
    }
}
