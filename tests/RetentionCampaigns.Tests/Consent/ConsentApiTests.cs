using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Consent;

public sealed class ConsentApiTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task TheLatestEventDecidesAndTheLedgerOnlyGrows(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "a@beispiel.de" })).JsonAsync(201);
        var grant = new { customerId = "C1", purpose = "email_marketing", status = "granted", lawfulBasis = "consent", source = "form",
            occurredAt = "2025-01-01T10:00:00Z", ipAddress = "203.0.113.7", userAgent = "Mozilla/5.0", consentTextVersion = "2025-01" };
        await (await app.Api.PostAsJsonAsync("/api/consents", grant)).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/consents", grant)).JsonAsync(200); // same event again: no new row

        var allowed = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        Assert.True(allowed.GetProperty("marketingEmailAllowed").GetBoolean());

        var withdrawal = await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "C1", purpose = "email_marketing", status = "withdrawn",
            objection = true, source = "preference_page", occurredAt = "2025-02-01T10:00:00Z" })).JsonAsync(201);
        Assert.Equal("consent", withdrawal.GetProperty("lawfulBasis").GetString());

        var history = await (await app.Api.GetAsync("/api/consents/C1")).JsonAsync(200);
        Assert.Equal(2, history.GetProperty("events").GetArrayLength());
        var state = history.GetProperty("current").GetProperty("email_marketing");
        Assert.Equal("withdrawn", state.GetProperty("status").GetString());
        Assert.True(state.GetProperty("objection").GetBoolean());
        Assert.False(history.GetProperty("marketingEmailAllowed").GetBoolean());
        Assert.Equal("none", history.GetProperty("current").GetProperty("tracking").GetProperty("status").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task InvalidConsentEventsAreRefusedByField(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "a@beispiel.de" })).JsonAsync(201);
        var errors = await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "C1", purpose = "sms", status = "maybe", ipAddress = "999.1.1.1" })).ProblemErrorsAsync(400);
        Assert.Equal(["ipAddress", "purpose", "status"], errors.Keys.Order());
        var noBasis = await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "C1", purpose = "tracking", status = "granted" })).ProblemErrorsAsync(400);
        Assert.Contains("lawfulBasis", noBasis.Keys);
        var wrongBasis = await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "C1", purpose = "tracking", status = "granted", lawfulBasis = "existing_customer" })).ProblemErrorsAsync(400);
        Assert.Contains("lawfulBasis", wrongBasis.Keys);
        await (await app.Api.PostAsJsonAsync("/api/consents", new { customerId = "ghost", purpose = "tracking", status = "granted", lawfulBasis = "consent" })).ProblemErrorsAsync(404);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.ConsentEvents.Count())));
    }
}
