using System.Net;
using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 12: a category after a German preposition, a self-contradicting referral offer, a plain-text call to action.</summary>
public sealed class GermanCopyTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task TheFavouriteCategoryReadsWellInGermanAndTheReferralPageSaysWhenTheVoucherComes(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/G1", new { email = "g1@beispiel.de", locale = "de" })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/orders/batch", new
        {
            orders = new[] { new { externalId = "GO1", customerId = "G1", orderedAt = DateTimeOffset.UtcNow.AddDays(-200), amount = 40m,
                lines = new[] { new { sku = "GB-1", productName = "Geschenkbox", category = "Geschenke", quantity = 1, unitPrice = 40m } } } },
        })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var preview = await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { customerId = "G1" })).JsonAsync(200);
        var html = WebUtility.HtmlDecode(preview.GetProperty("html").GetString()!);
        Assert.Contains("neue Lieblingsstücke im Bereich „Geschenke“", html);
        Assert.DoesNotContain("in Geschenke", html);
        Assert.Contains("im Bereich „Geschenke“", preview.GetProperty("text").GetString());

        await Referrals.ReferralLinkTests.ActiveProgramAsync(app);
        await (await app.Api.PostAsJsonAsync("/api/consents", new
        {
            customerId = "G1", purpose = "email_marketing", status = "granted", lawfulBasis = "consent", source = "form", occurredAt = DateTimeOffset.UtcNow.AddDays(-1),
        })).JsonAsync(201);
        var code = await Referrals.ReferralLinkTests.CodeOfAsync(app, "G1");
        foreach (var (language, offer, howTo) in new[]
        {
            ("de", "Ihr Willkommensgeschenk: ein Gutschein über 10,00 € für eine Bestellung ab 50,00 €.",
                "Nach Ihrer ersten Bestellung ab 30,00 € erhalten Sie den Gutschein für Ihren nächsten Einkauf."),
            ("en", "Your welcome gift: a voucher for €10.00 on an order of €50.00 or more.",
                "after your first order of €30.00 or more you receive the voucher for your next purchase."),
        })
        {
            using var friend = app.CreateClient();
            friend.DefaultRequestHeaders.AcceptLanguage.ParseAdd(language);
            var page = WebUtility.HtmlDecode(await (await friend.GetAsync($"/r/{code}")).Content.ReadAsStringAsync());
            Assert.Contains(offer, page);
            Assert.Contains(howTo, page);
            Assert.Contains("<a class=\"button\"", page);
            Assert.Contains("a.button{", page); // styled as a button, not a bare link
        }
    }
}
