using System.Net;
using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 10: previews without a customer showed a made-up sample shop, and never the campaign's offer.</summary>
public sealed class PreviewShopTests
{
    static readonly Dictionary<string, string> Shop = new()
    {
        ["Shop:Name"] = "Kaffeerösterei Lange", ["Shop:PostalAddress"] = "Hafenweg 3, 20457 Hamburg, Deutschland", ["Shop:SenderEmail"] = "post@lange.example",
    };

    [Theory, ClassData(typeof(BothStores))]
    public async Task PreviewsAndTestEmailsWithoutACustomerShowTheConfiguredShopAndTheCampaignsRealOffer(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, Shop);
        var preview = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { })).JsonAsync(200);
        var html = WebUtility.HtmlDecode(preview.GetProperty("html").GetString()!);
        Assert.Contains("Kaffeerösterei Lange", html);
        Assert.Contains("Hafenweg 3, 20457 Hamburg, Deutschland", html);
        Assert.DoesNotContain("Beispiel-Shop", html); // the made-up shop of the template check
        Assert.DoesNotContain("Beispielstraße", html);

        await (await app.Api.PostAsJsonAsync("/api/templates/win-back/test-send", new { to = "me@lange.example" })).JsonAsync(200);
        var eml = OutboxMessage.ReadAll(app.Outbox).Single();
        Assert.Contains("post@lange.example", eml.Raw);
        Assert.Contains("Hafenweg 3, 20457 Hamburg", eml.Text);

        await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "c1@example.com" })).JsonAsync(201);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        async Task<long> CampaignAsync(string name, object? offer) => (await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name, segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back", offer,
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) },
        })).JsonAsync(201)).GetProperty("id").GetInt64();
        var withOffer = await CampaignAsync("Spring", new { codes = "generated", prefix = "SPRING-", percentOff = 15, validDays = 14 });
        var withoutOffer = await CampaignAsync("Plain", null);

        foreach (var customerId in new[] { null, "C1" })
        {
            var offered = WebUtility.HtmlDecode((await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { campaignId = withOffer, customerId })).JsonAsync(200))
                .GetProperty("html").GetString()!);
            Assert.Contains("SPRING-PREVIEW", offered);
            Assert.Contains("15", offered);
            Assert.DoesNotContain("WELCOME-BACK-7Q2F", offered);
            var plain = WebUtility.HtmlDecode((await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { campaignId = withoutOffer, customerId })).JsonAsync(200))
                .GetProperty("html").GetString()!);
            Assert.DoesNotContain("WELCOME-BACK-7Q2F", plain);
            Assert.DoesNotContain("SPRING-PREVIEW", plain);
        }
        await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { campaignId = 999999 })).ProblemErrorsAsync(404);
    }
}
