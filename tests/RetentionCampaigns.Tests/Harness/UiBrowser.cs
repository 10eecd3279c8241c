using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Harness;

/// <summary>A browser on the marketer UI: keeps its cookies, follows no redirect, posts forms with their antiforgery token.</summary>
public static partial class UiBrowser
{
    [GeneratedRegex(@"name=""__RequestVerificationToken"" type=""hidden"" value=""(?<token>[^""]+)""")]
    private static partial Regex AntiforgeryField();

    public static string AntiforgeryToken(string page) => AntiforgeryField().Match(page).Groups["token"].Value;

    public static HttpClient Create(RetentionApp app, string? language = null)
    {
        var browser = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        if (language is not null) browser.DefaultRequestHeaders.AcceptLanguage.ParseAdd(language);
        return browser;
    }

    /// <summary>Posts a form to <paramref name="path"/> with the token of the page at <paramref name="tokenFrom"/>, as the browser would.</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient browser, string tokenFrom, string path, Dictionary<string, string> fields)
    {
        fields["__RequestVerificationToken"] = AntiforgeryToken(await (await browser.GetAsync(tokenFrom)).Content.ReadAsStringAsync());
        return await browser.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    /// <summary>A new account with this role, signed in; the dashboard as it shows it.</summary>
    public static async Task<(HttpClient Browser, string Dashboard)> SignedInAsync(RetentionApp app, string email, string role, string language = "en")
    {
        var (_, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync(email, role, default));
        var browser = Create(app, language);
        var signedIn = await PostFormAsync(browser, "/account/sign-in", "/account/sign-in", new() { ["Email"] = email, ["Password"] = password });
        if (signedIn.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException($"{email} could not sign in: {(int)signedIn.StatusCode}");
        return (browser, await (await browser.GetAsync("/")).Content.ReadAsStringAsync());
    }
}
