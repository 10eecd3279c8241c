using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Tests.Campaigns;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;

namespace RetentionCampaigns.Tests.Consent;

public sealed class PrivacyTests
{
    /// <summary>A customer with something in every table that holds personal data.</summary>
    static async Task<long> RichCustomerAsync(RetentionApp app)
    {
        await (await app.Api.PutAsJsonAsync("/api/customers/G1", new
        {
            email = "Greta.Meyer@Example.com", firstName = "Greta", lastName = "Meyer", locale = "de", country = "DE",
            tags = new[] { "vip" }, attributes = new { birthday = "1980-02-03" },
        })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/consents", new
        {
            customerId = "G1", purpose = "email_marketing", status = "granted", lawfulBasis = "consent", source = "form",
            occurredAt = DateTimeOffset.UtcNow.AddDays(-30), ipAddress = "203.0.113.7", userAgent = "Firefox/140", consentTextVersion = "2026-01",
        })).JsonAsync(201);
        await (await app.Api.PutAsJsonAsync("/api/orders/O-77", new
        {
            customerId = "G1", orderedAt = DateTimeOffset.UtcNow.AddDays(-20), amount = 120.50m, currency = "EUR", paymentFingerprint = "card_fp_G1",
            lines = new[] { new { sku = "TEA-1", productName = "Green tea", quantity = 2, unitPrice = 60.25m } },
        })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", new
        {
            customerId = "G1", answeredAt = DateTimeOffset.UtcNow.AddDays(-10), nps = 9, comment = "Greta here, call me on 0170 1234567",
        })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/webhooks/feedback", new
        {
            events = new[] { new { type = "bounce", email = "greta.meyer@example.com", bounceType = "hard", diagnostic = "550 5.1.1 <greta.meyer@example.com> unknown" } },
        })).JsonAsync(200);
        return await app.WithDbAsync(db => db.Customers.Where(c => c.ExternalId == "G1").Select(c => c.Id).SingleAsync());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheExportHoldsEverythingStoredAboutTheCustomerAndIsAudited(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await RichCustomerAsync(app);
        using var browser = app.CreateClient();
        Assert.Equal(200, (int)(await browser.PostAsync(PathOf(app.Services.GetRequiredService<LinkBuilder>().Preferences(id)),
            new FormUrlEncodedContent([new("purpose", "email_marketing"), new("frequency", "monthly")]))).StatusCode);

        var answer = await app.Api.GetAsync("/api/customers/G1/export");
        Assert.Equal("attachment; filename=\"customer-G1.json\"", answer.Content.Headers.ContentDisposition!.ToString());
        var export = await answer.JsonAsync(200);
        var customer = export.GetProperty("customer");
        Assert.Equal(("Greta.Meyer@Example.com", "Greta", "Meyer"), (customer.GetProperty("email").GetString(), customer.GetProperty("firstName").GetString(), customer.GetProperty("lastName").GetString()));
        Assert.Equal("1980-02-03", customer.GetProperty("attributes").GetProperty("birthday").GetString());
        var consentEvent = export.GetProperty("consent").GetProperty("events")[0];
        Assert.Equal(("203.0.113.7", "Firefox/140"), (consentEvent.GetProperty("ipAddress").GetString(), consentEvent.GetProperty("userAgent").GetString()));
        Assert.Equal("granted", export.GetProperty("consent").GetProperty("current").GetProperty("email_marketing").GetProperty("status").GetString());
        Assert.Equal("monthly", export.GetProperty("preferences").GetProperty("frequency").GetString());
        Assert.Equal("hard_bounce", export.GetProperty("suppression").GetProperty("reason").GetString());
        var order = Assert.Single(export.GetProperty("orders").EnumerateArray());
        Assert.Equal(("O-77", 120.50m, "card_fp_G1"), (order.GetProperty("externalId").GetString(), order.GetProperty("amount").GetDecimal(),
            order.GetProperty("paymentFingerprint").GetString()));
        Assert.Contains("0170 1234567", export.GetProperty("surveyAnswers")[0].GetProperty("comment").GetString());

        var audit = await (await app.Api.GetAsync("/api/audit-log?customerId=G1")).JsonAsync(200);
        var entry = Assert.Single(audit.GetProperty("items").EnumerateArray());
        Assert.Equal(("export", "G1", id), (entry.GetProperty("action").GetString(), entry.GetProperty("subject").GetString(), entry.GetProperty("customerId").GetInt64()));
        Assert.StartsWith("api key ", entry.GetProperty("actor").GetString());
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/customers/nobody/export")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ErasureRemovesPersonalDataKeepsAggregatesAndAReimportedPersonStaysSuppressed(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await RichCustomerAsync(app);
        var preferencesLink = PathOf(app.Services.GetRequiredService<LinkBuilder>().Preferences(id));

        var erased = await (await app.Api.PostAsync("/api/customers/G1/erase", null)).JsonAsync(200);
        var erasedAs = erased.GetProperty("erasedAs").GetString()!;
        Assert.StartsWith("erased:", erasedAs);
        Assert.Equal((1, 1, 1), (erased.GetProperty("orders").GetInt32(), erased.GetProperty("surveyComments").GetInt32(), erased.GetProperty("consentWithdrawn").GetInt32()));
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/customers/G1")).StatusCode);
        Assert.Equal(404, (int)(await app.Api.PostAsync("/api/customers/G1/erase", null)).StatusCode);
        Assert.Contains("externalId", (await (await app.Api.PostAsync($"/api/customers/{Uri.EscapeDataString(erasedAs)}/erase", null)).ProblemErrorsAsync(409)).Keys);

        // Nothing personal is left in any table; the anonymous facts stay.
        await app.WithDbAsync(async db =>
        {
            var shell = await db.Customers.AsNoTracking().SingleAsync(c => c.Id == id);
            Assert.Equal(("", null, null, 0, 0), (shell.Email, shell.FirstName, shell.LastName, shell.Tags.Count, shell.Attributes.Count));
            Assert.Equal((erasedAs, "de", "DE"), (shell.ExternalId, shell.Locale, shell.Country));
            Assert.NotNull(shell.ErasedAt);
            var order = await db.Orders.AsNoTracking().SingleAsync(o => o.CustomerId == id);
            Assert.Equal(12050, order.AmountMinor);
            Assert.StartsWith("erased:", order.ExternalId);
            Assert.Null(order.PaymentFingerprint);
            var answer = await db.SurveyAnswers.AsNoTracking().SingleAsync(a => a.CustomerId == id);
            Assert.Equal((9, null), (answer.Nps, answer.Comment));
            Assert.All(await db.ConsentEvents.AsNoTracking().Where(e => e.CustomerId == id).ToListAsync(), e => Assert.Equal((null, null), (e.IpAddress, e.UserAgent)));
            var suppression = await db.Suppressions.AsNoTracking().SingleAsync();
            Assert.Equal("erased", suppression.Reason);
            Assert.DoesNotContain("greta", suppression.Detail ?? "", StringComparison.OrdinalIgnoreCase);
            return 0;
        });
        Assert.Equal("withdrawn", await MarketingStatusAsync(app, id));
        Assert.Equal(410, (int)(await app.CreateClient().GetAsync(preferencesLink)).StatusCode);

        var audit = await (await app.Api.GetAsync("/api/audit-log")).JsonAsync(200);
        var entry = Assert.Single(audit.GetProperty("items").EnumerateArray());
        Assert.Equal(("erasure", "G1"), (entry.GetProperty("action").GetString(), entry.GetProperty("subject").GetString()));
        Assert.Contains(erasedAs, entry.GetProperty("detail").GetString());

        // The shop imports the person again (another spelling of the address) with fresh consent: never mailed.
        await (await app.Api.PutAsJsonAsync("/api/customers/G1", new { email = "greta.meyer@EXAMPLE.com", locale = "de" })).JsonAsync(201);
        await CampaignTestKit.GrantMarketingAsync(app, ["G1"]);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "After erasure");
        Assert.Equal((DeliveryStatuses.Skipped, "the address is on the suppression list (erased)"), (ledger["G1"].Status, ledger["G1"].Reason));
        Assert.False(ledger.ContainsKey(erasedAs) && ledger[erasedAs].Status == DeliveryStatuses.Sent);
        Assert.Contains("email", (await (await app.Api.DeleteAsync("/api/suppressions?email=greta.meyer%40example.com")).ProblemErrorsAsync(409)).Keys);
        Assert.Empty(Directory.Exists(app.Outbox) ? Directory.GetFiles(app.Outbox) : []);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheErasedIdPrefixIsReservedAndAnErasedShellIsNeverMailedEvenWithConsent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        Assert.Equal(["externalId"], (await (await app.Api.PutAsJsonAsync("/api/customers/erased:abc", new { email = "x@example.com" })).ProblemErrorsAsync(400)).Keys);
        await ConsentingCustomerAsync(app, "E1");
        var erasedAs = (await (await app.Api.PostAsync("/api/customers/E1/erase", null)).JsonAsync(200)).GetProperty("erasedAs").GetString()!;
        // Somebody records consent for the shell through the API: the sender still refuses it.
        await CampaignTestKit.GrantMarketingAsync(app, [erasedAs], daysAgo: 0);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Shell");
        Assert.Equal((DeliveryStatuses.Skipped, "the customer's personal data was erased"), (ledger[erasedAs].Status, ledger[erasedAs].Reason));
    }
}
