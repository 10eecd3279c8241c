using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Links;

public sealed class ClickTests
{
    const string Content = "<a href=\"{{ link \"https://shop.example/sale?x=1\" }}\">Sale</a>{{ include \"footer\" }}";

    [Theory, ClassData(typeof(BothStores))]
    public async Task LinksAreTrackedOnlyWithTrackingConsentAndRedirectOnlyToTheSignedTarget(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/T1", new { email = "t1@example.com", locale = "en" })).JsonAsync(201);
        await (await app.Api.PutAsJsonAsync("/api/customers/N1", new { email = "n1@example.com", locale = "en" })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "T1", purpose = "tracking", status = "granted", lawfulBasis = "consent", source = "form", occurredAt = DateTimeOffset.UtcNow.AddDays(-1) })).JsonAsync(201);

        async Task<string> HrefAsync(string customer)
        {
            var preview = await (await app.Api.PostAsJsonAsync("/api/templates/preview", new
            {
                content = new { en = new { subject = "s", html = Content } }, customerId = customer,
            })).JsonAsync(200);
            return WebUtility.HtmlDecode(Regex.Match(preview.GetProperty("html").GetString()!, "<a href=\"([^\"]+)\">Sale</a>").Groups[1].Value);
        }

        Assert.Equal("https://shop.example/sale?x=1", await HrefAsync("N1"));
        var tracked = await HrefAsync("T1");
        Assert.StartsWith("http://localhost:5080/c/", tracked);

        using var browser = app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        // A preview's link leads on but is a test link: nothing is recorded.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync(new Uri(tracked).AbsolutePath)).StatusCode);
        Assert.Empty(await app.WithDbAsync(db => Task.FromResult(db.LinkClicks.ToList())));

        // The link of a real email, as the sender makes it.
        var t1 = await app.WithDbAsync(db => Task.FromResult(db.Customers.Single(c => c.ExternalId == "T1").Id));
        var path = new Uri(app.Services.GetRequiredService<RetentionCampaigns.Links.LinkBuilder>().Click(t1, "https://shop.example/sale?x=1")).AbsolutePath;
        var response = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("https://shop.example/sale?x=1", response.Headers.Location!.ToString());
        var clicks = await app.WithDbAsync(db => Task.FromResult(db.LinkClicks.Select(c => c.Target).ToList()));
        Assert.Equal(["https://shop.example/sale?x=1"], clicks);

        var token = path["/c/".Length..];
        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        var refused = await browser.GetAsync("/c/" + tampered);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Null(refused.Headers.Location);
        Assert.Contains("Dieser Link ist ungültig", await refused.Content.ReadAsStringAsync()); // no Accept-Language: the shop's default
        Assert.Equal(HttpStatusCode.BadRequest, (await browser.GetAsync("/c/%2F%2Fevil.example")).StatusCode);
        Assert.Single(await app.WithDbAsync(db => Task.FromResult(db.LinkClicks.ToList())));

        // Tracking withdrawn after the email went out: the link still leads to the shop, but the click is not recorded.
        await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "T1", purpose = "tracking", status = "withdrawn", source = "form", occurredAt = DateTimeOffset.UtcNow })).JsonAsync(201);
        var consent = await (await app.Api.GetAsync("/api/consents/T1")).JsonAsync(200);
        Assert.Equal("withdrawn", consent.GetProperty("current").GetProperty("tracking").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync(path)).StatusCode);
        Assert.Single(await app.WithDbAsync(db => Task.FromResult(db.LinkClicks.ToList())));
    }
}
