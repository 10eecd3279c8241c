using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Signups;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;

namespace RetentionCampaigns.Tests.PublicPages;

public sealed partial class SignupTests
{
    static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    /// <summary>The path of the confirmation link in the newest double opt-in email to the address.</summary>
    static string ConfirmPath(RetentionApp app, string to)
    {
        var message = OutboxMessage.ReadAll(app.Outbox).Last(m => m.IsTo(to));
        return PathOf(ConfirmLink().Match(message.Text).Value);
    }

    static int EmailsTo(RetentionApp app, string to) =>
        OutboxMessage.ReadAll(app.Outbox).Count(m => m.IsTo(to));

    [Theory, ClassData(typeof(BothStores))]
    public async Task AFormSignUpSendsTheConfirmationEmailAndOnlyThePostOfItsLinkGrantsConsent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var browser = app.CreateClient();
        browser.DefaultRequestHeaders.UserAgent.ParseAdd("SignupTest/2.0");

        var answer = await browser.PostAsync("/signup", Form(("email", "nina@example.com"), ("firstName", "Nina"), ("locale", "de"), ("form", "footer")));
        Assert.Equal(200, (int)answer.StatusCode);
        Assert.Contains("Wir haben Ihnen eine E-Mail geschickt", await answer.Content.ReadAsStringAsync());
        Assert.Equal("DENY", answer.Headers.GetValues("X-Frame-Options").Single());
        var email = Assert.Single(OutboxMessage.ReadAll(app.Outbox));
        Assert.Contains("Subject: =?utf-8?", email.Raw, StringComparison.OrdinalIgnoreCase); // "Bitte bestätigen ...", encoded
        Assert.DoesNotContain("List-Unsubscribe", email.Raw); // a service email: nothing to unsubscribe from yet
        Assert.Contains("Hallo Nina", email.Text);
        var confirm = ConfirmPath(app, "nina@example.com");
        Assert.StartsWith("/confirm/", confirm);
        Assert.Equal(0, await app.WithDbAsync(db => db.Customers.CountAsync()));

        // The GET shows one button and changes nothing.
        var page = await browser.GetAsync(confirm);
        Assert.Equal(200, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("n***@example.com", html);
        Assert.Contains("<form method=\"post\"><button type=\"submit\">", html);
        Assert.Equal(0, await app.WithDbAsync(db => db.ConsentEvents.CountAsync()));

        var confirmed = await browser.PostAsync(confirm, null);
        Assert.Equal(200, (int)confirmed.StatusCode);
        Assert.Contains("Ihre Anmeldung ist bestätigt", await confirmed.Content.ReadAsStringAsync());
        var customer = await app.WithDbAsync(db => db.Customers.AsNoTracking().SingleAsync());
        Assert.StartsWith(SignupPages.SignupIdPrefix, customer.ExternalId);
        Assert.Equal(("nina@example.com", "Nina", "de"), (customer.Email, customer.FirstName, customer.Locale));
        var grant = await app.WithDbAsync(db => db.ConsentEvents.AsNoTracking().SingleAsync());
        Assert.Equal(("email_marketing", "granted", "consent", "double_opt_in", "2026-01", "SignupTest/2.0"),
            (grant.Purpose, grant.Status, grant.LawfulBasis, grant.Source, grant.ConsentTextVersion, grant.UserAgent));
        var signup = await app.WithDbAsync(db => db.Signups.AsNoTracking().SingleAsync());
        Assert.Equal((customer.Id, "footer", "SignupTest/2.0"), (signup.CustomerId!.Value, signup.Form, signup.UserAgent));
        Assert.NotNull(signup.ConfirmedAt);

        // A second click confirms nothing new.
        Assert.Contains("bereits bestätigt", await (await browser.PostAsync(confirm, null)).Content.ReadAsStringAsync());
        Assert.Contains("bereits bestätigt", await (await browser.GetAsync(confirm)).Content.ReadAsStringAsync());
        Assert.Equal(1, await app.WithDbAsync(db => db.ConsentEvents.CountAsync()));
        Assert.Equal("granted", await MarketingStatusAsync(app, customer.Id));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ConfirmingTheAddressOfAKnownCustomerGrantsTheirConsent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/K1", new { email = "kai@example.com", locale = "en" })).JsonAsync(201);
        using var browser = app.CreateClient();
        Assert.Equal(202, (int)(await browser.PostAsJsonAsync("/signup", new { email = "Kai@Example.com", locale = "en" })).StatusCode);
        Assert.Equal(200, (int)(await browser.PostAsync(ConfirmPath(app, "Kai@Example.com"), null)).StatusCode);
        var customers = await app.WithDbAsync(db => db.Customers.AsNoTracking().ToListAsync());
        var known = Assert.Single(customers);
        Assert.Equal("K1", known.ExternalId);
        Assert.Equal("granted", await MarketingStatusAsync(app, known.Id));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task BadSignUpsGetTheFieldAndTheAnswerNeverRevealsWhetherAnEmailWasSent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var browser = app.CreateClient();
        Assert.Equal(["email"], (await (await browser.PostAsJsonAsync("/signup", new { email = "no address" })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(["locale"], (await (await browser.PostAsJsonAsync("/signup", new { email = "a@example.com", locale = "fr" })).ProblemErrorsAsync(400)).Keys);
        var formError = await browser.PostAsync("/signup", Form(("email", "")));
        Assert.Equal(400, (int)formError.StatusCode);
        Assert.Contains("email", await formError.Content.ReadAsStringAsync());
        Assert.Equal(400, (int)(await browser.PostAsync("/signup", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"))).StatusCode);

        await ConsentingCustomerAsync(app, "Subscribed");
        await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = "blocked@example.com" })).JsonAsync(201);
        foreach (var address in new[] { "fresh@example.com", "fresh@example.com", "subscribed@example.com", "BLOCKED@example.com" })
        {
            var answer = await browser.PostAsJsonAsync("/signup", new { email = address });
            Assert.Equal(202, (int)answer.StatusCode);
            Assert.Equal("pending", (await answer.JsonAsync(202)).GetProperty("status").GetString());
        }
        // One email to the new address (the repeat within ten minutes sends none), none to the subscribed or suppressed ones.
        Assert.Equal((1, 0, 0), (EmailsTo(app, "fresh@example.com"), EmailsTo(app, "subscribed@example.com"), EmailsTo(app, "blocked@example.com")));
        Assert.Equal(1, await app.WithDbAsync(db => db.Signups.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ExpiredSignUpsGet410AndAreDeletedAndBadLinksChangeNothing(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var browser = app.CreateClient();
        Assert.Equal(202, (int)(await browser.PostAsJsonAsync("/signup", new { email = "late@example.com", locale = "en" })).StatusCode);
        var confirm = ConfirmPath(app, "late@example.com");
        var id = await app.WithDbAsync(db => db.Signups.Select(s => s.Id).SingleAsync());
        var tokens = app.Services.GetRequiredService<LinkTokens>();

        // Tampered, other-purpose and expired tokens: 400 or 410, and nothing confirmed.
        var token = confirm["/confirm/".Length..];
        var tampered = token[..12] + (token[12] == 'A' ? 'B' : 'A') + token[13..];
        Assert.Equal(400, (int)(await browser.PostAsync($"/confirm/{tampered}", null)).StatusCode);
        Assert.Equal(400, (int)(await browser.PostAsync($"/confirm/{tokens.Create(LinkPurpose.Unsubscribe, id)}", null)).StatusCode);
        Assert.Equal(410, (int)(await browser.PostAsync($"/confirm/{tokens.Create(LinkPurpose.Confirm, id, DateTime.UtcNow.AddSeconds(-1))}", null)).StatusCode);
        Assert.Equal(0, await app.WithDbAsync(db => db.ConsentEvents.CountAsync()));

        // The sign-up's own time runs out (Consent:PendingDays): its link is gone, and the hourly job deletes it.
        await app.WithDbAsync(db => db.Signups.ExecuteUpdateAsync(u => u.SetProperty(s => s.ExpiresAt, DateTime.UtcNow.AddMinutes(-1))));
        var expired = await browser.GetAsync(confirm);
        Assert.Equal(410, (int)expired.StatusCode);
        Assert.Contains("This link has expired", await expired.Content.ReadAsStringAsync());
        Assert.Equal(410, (int)(await browser.PostAsync(confirm, null)).StatusCode);
        Assert.Equal(0, await app.WithDbAsync(db => db.Customers.CountAsync()));
        await using (var scope = app.Services.CreateAsyncScope())
            await ActivatorUtilities.CreateInstance<SignupExpiryJob>(scope.ServiceProvider).RunAsync(CancellationToken.None);
        Assert.Equal(0, await app.WithDbAsync(db => db.Signups.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task SignUpsFromOneAddressAreLimitedPerHour(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["PublicPages:SignupsPerHour"] = "2" });
        using var browser = app.CreateClient();
        Assert.Equal(202, (int)(await browser.PostAsJsonAsync("/signup", new { email = "one@example.com" })).StatusCode);
        Assert.Equal(202, (int)(await browser.PostAsJsonAsync("/signup", new { email = "two@example.com" })).StatusCode);
        var refused = await browser.PostAsJsonAsync("/signup", new { email = "three@example.com" });
        Assert.Equal(429, (int)refused.StatusCode);
        Assert.Equal("3600", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal(0, EmailsTo(app, "three@example.com"));
    }

    [GeneratedRegex(@"https?://[^\s""<>]+/confirm/[A-Za-z0-9_-]+")]
    private static partial Regex ConfirmLink();
}
