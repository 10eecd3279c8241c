using System.Net;
using System.Text.RegularExpressions;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Pages;

/// <summary>Issue 16, foundation: signing in to the marketer UI beside the API keys.</summary>
public sealed class SignInTests
{
    static HttpClient Browser(RetentionApp app) => UiBrowser.Create(app);

    static async Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string path, Dictionary<string, string> fields, bool withToken = true)
    {
        var page = await (await browser.GetAsync(path.Split('?')[0])).Content.ReadAsStringAsync();
        if (withToken) fields["__RequestVerificationToken"] = UiBrowser.AntiforgeryToken(page);
        return await browser.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    static Task<HttpResponseMessage> SignInAsync(HttpClient browser, string email, string password) =>
        PostFormAsync(browser, "/account/sign-in", new() { ["Email"] = email, ["Password"] = password });

    [Theory, ClassData(typeof(BothStores))]
    public async Task AMarketerSignsInSeesTheDashboardAndSignsOut(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (_, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("mara@shop.example", UserRoles.Marketer, default));
        using var browser = Browser(app);

        var anonymous = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.StartsWith("/account/sign-in", anonymous.Headers.Location!.OriginalString.Replace("http://localhost", ""));

        var signedIn = await SignInAsync(browser, "Mara@Shop.Example", password);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Contains(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith(SignInSetup.CookieName + "=") && c.Contains("httponly", StringComparison.OrdinalIgnoreCase));

        var dashboard = await browser.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        var html = await dashboard.Content.ReadAsStringAsync();
        // No browser language: the shop's (German).
        Assert.Contains("<html lang=\"de\">", html);
        Assert.Contains("mara@shop.example (Marketing)", html);
        Assert.Contains("Abwanderungsrate", html);
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en-GB");
        var english = await (await browser.GetAsync("/")).Content.ReadAsStringAsync();
        Assert.Contains("mara@shop.example (marketer)", english);
        Assert.Contains("Churn rate", english);
        // Scripts only from our own /assets (htmx, Chart.js, ours), none inline, none from another host.
        Assert.All(Regex.Matches(html, "<script[^>]*>").Select(m => m.Value), tag => Assert.Matches("^<script src=\"/assets/[a-z./]+\" defer>$", tag));
        Assert.DoesNotContain("unsafe-inline", dashboard.Headers.GetValues("Content-Security-Policy").Single());

        // The API takes API keys only, not the session.
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/customers")).StatusCode);

        var signedOut = await SignOutAsync(browser, html);
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/")).StatusCode);
    }

    static async Task<HttpResponseMessage> SignOutAsync(HttpClient browser, string page)
    {
        var token = UiBrowser.AntiforgeryToken(page);
        return await browser.PostAsync("/account/sign-out", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AWrongPasswordIsToldBesideTheFieldAFormWithoutItsTokenIsRefusedAndGuessingIsSlowedDown(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (_, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("ana@shop.example", UserRoles.Analyst, default));
        using var browser = Browser(app);

        var wrong = await SignInAsync(browser, "ana@shop.example", "not-it");
        Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        Assert.Contains("id=\"password-error\" class=\"error field-validation-error\"", await wrong.Content.ReadAsStringAsync());

        var forged = await PostFormAsync(browser, "/account/sign-in", new() { ["Email"] = "ana@shop.example", ["Password"] = password }, withToken: false);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        for (var i = 0; i < 4; i++) await SignInAsync(browser, "ana@shop.example", "still-not-it");
        var limited = await SignInAsync(browser, "ana@shop.example", password);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Contains("Zu viele Versuche", await limited.Content.ReadAsStringAsync());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task APasswordIsChangedWithTheCurrentOneAndTheOldOneStopsWorking(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (_, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("adam@shop.example", UserRoles.Admin, default));
        using var browser = Browser(app);
        await SignInAsync(browser, "adam@shop.example", password);

        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");
        var tooShort = await PostFormAsync(browser, "/account/password", new() { ["Current"] = password, ["New"] = "short", ["Repeat"] = "short" });
        Assert.Contains("Choose at least 12 characters.", await tooShort.Content.ReadAsStringAsync());
        var changed = await PostFormAsync(browser, "/account/password", new() { ["Current"] = password, ["New"] = "a much longer secret", ["Repeat"] = "a much longer secret" });
        Assert.Contains("Your password is changed.", await changed.Content.ReadAsStringAsync());
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("adam@shop.example", password, default)));
        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("adam@shop.example", "a much longer secret", default)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheUiSpeaksTheLanguageAPersonChoseElseTheirBrowsers(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (_, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("lea@shop.example", UserRoles.Analyst, default));
        using var browser = Browser(app);
        browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("de-DE");
        await SignInAsync(browser, "lea@shop.example", password);
        Assert.Contains("Übersicht", await (await browser.GetAsync("/")).Content.ReadAsStringAsync());

        var chosen = await PostFormAsync(browser, "/account/password?handler=Language", new() { ["Language"] = "en" });
        Assert.Equal(HttpStatusCode.Redirect, chosen.StatusCode);
        var english = await (await browser.GetAsync("/")).Content.ReadAsStringAsync();
        Assert.Contains("<html lang=\"en\">", english);
        Assert.Contains("Dashboard", english);
        Assert.Equal("en", await app.WithDbAsync(db => Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(db.Users.Select(u => u.Locale))));
    }
}
