using System.Net;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Pages;

/// <summary>Issue 16, settings: an admin manages API keys and users; nobody else can, whatever they send.</summary>
public sealed partial class SettingsTests
{
    [GeneratedRegex(@"<code>(?<secret>[^<]+)</code>")]
    private static partial Regex Shown();

    static async Task<HttpClient> SignedInAsync(RetentionApp app, string email, string role) => (await UiBrowser.SignedInAsync(app, email, role)).Browser;

    static Task<HttpResponseMessage> PostAsync(HttpClient browser, string tokenFrom, string path, Dictionary<string, string> fields) =>
        UiBrowser.PostFormAsync(browser, tokenFrom, path, fields);

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAdminCreatesAndRevokesAnApiKeyAndInvitesAndDisablesAUser(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var admin = await SignedInAsync(app, "boss@shop.example", UserRoles.Admin);

        var created = await PostAsync(admin, "/settings/api-keys", "/settings/api-keys?handler=Create", new() { ["Name"] = "shop-sync" });
        var key = Shown().Match(await created.Content.ReadAsStringAsync()).Groups["secret"].Value;
        Assert.StartsWith("rc_", key);
        using var integration = app.CreateClient();
        integration.DefaultRequestHeaders.Authorization = new("Bearer", key);
        await (await integration.GetAsync("/api/customers")).JsonAsync(200);
        var id = await app.WithDbAsync(db => db.ApiKeys.Where(k => k.Name == "shop-sync").Select(k => k.Id).SingleAsync());
        Assert.Contains("Integrations using this key stop working at once.", await (await admin.GetAsync($"/settings/api-keys?revoke={id}")).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Redirect, (await PostAsync(admin, "/settings/api-keys", $"/settings/api-keys?handler=Revoke&id={id}", new())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await integration.GetAsync("/api/customers")).StatusCode);

        var invited = await PostAsync(admin, "/settings/users", "/settings/users?handler=Invite", new() { ["Email"] = "new@shop.example", ["Role"] = "analyst" });
        var password = Shown().Match(await invited.Content.ReadAsStringAsync()).Groups["secret"].Value;
        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("new@shop.example", password, default)));
        var again = await PostAsync(admin, "/settings/users", "/settings/users?handler=Invite", new() { ["Email"] = "new@shop.example", ["Role"] = "analyst" });
        Assert.Contains("Enter an email address without an account yet.", await again.Content.ReadAsStringAsync());

        var newId = await app.WithDbAsync(db => db.Users.Where(u => u.Email == "new@shop.example").Select(u => u.Id).SingleAsync());
        await PostAsync(admin, "/settings/users", $"/settings/users?handler=Disable&id={newId}", new());
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("new@shop.example", password, default)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AMarketerCanNeitherSeeNorChangeTheSettingsTheServerRefusesIt(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var admin = await SignedInAsync(app, "boss@shop.example", UserRoles.Admin);
        var adminPage = await (await admin.GetAsync("/settings/users")).Content.ReadAsStringAsync();
        using var marketer = await SignedInAsync(app, "mara@shop.example", UserRoles.Marketer);

        var page = await marketer.GetAsync("/settings/users");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/account/denied", page.Headers.Location!.PathAndQuery);
        Assert.DoesNotContain("/settings/users", await (await marketer.GetAsync("/")).Content.ReadAsStringAsync());

        // A form posted by hand, with a valid token of the marketer's own session, is refused as well.
        var forged = await PostAsync(marketer, "/", "/settings/users?handler=Invite", new() { ["Email"] = "mole@shop.example", ["Role"] = "admin" });
        Assert.NotEqual(HttpStatusCode.OK, forged.StatusCode);
        Assert.False(await app.WithDbAsync(db => db.Users.AnyAsync(u => u.Email == "mole@shop.example")));
        Assert.Contains("boss@shop.example", adminPage);
    }
}
