using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;

namespace RetentionCampaigns.Tests.Referrals;

public sealed partial class ReferralLinkTests
{
    internal static async Task<JsonElement> ActiveProgramAsync(RetentionApp app, object? overrides = null) =>
        await (await app.Api.PostAsJsonAsync("/api/referral-programs", overrides ?? new
        {
            name = "Friends", active = true,
            friendOffer = new { codes = "generated", prefix = "FRIEND", value = 10, minimumOrder = 50, validDays = 60 },
            referrerReward = new { codes = "generated", prefix = "THANKS", value = 15, validDays = 90 },
            qualifyingMinimum = 30, reviewDays = 14, maxRewardsPerReferrer = 2, rewardPeriodDays = 365,
        })).JsonAsync(201);

    /// <summary>The customer's referral code, as the invitation template shows it.</summary>
    internal static async Task<string> CodeOfAsync(RetentionApp app, string customerId)
    {
        var preview = await (await app.Api.PostAsJsonAsync("/api/templates/referral-invitation/preview", new { customerId })).JsonAsync(200);
        return ReferralLink().Match(preview.GetProperty("html").GetString()!).Groups["code"].Value;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheReferralUrlMakesOneUnguessableCodePerCustomerOnFirstUse(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ConsentingCustomerAsync(app, "R1", locale: "en");
        await ConsentingCustomerAsync(app, "R2", locale: "en");

        // A template without the referral link makes no code.
        await (await app.Api.PostAsJsonAsync("/api/templates/win-back/preview", new { customerId = "R2" })).JsonAsync(200);
        Assert.Equal(0, await app.WithDbAsync(db => db.ReferralCodes.CountAsync()));

        var code = await CodeOfAsync(app, "R1");
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{16}$", code); // 16 x 5 = 80 random bits
        Assert.Equal(code, await CodeOfAsync(app, "R1"));
        var custom = await (await app.Api.PostAsJsonAsync("/api/templates/preview", new
        {
            content = new { en = new { subject = "Share", html = "<p>{{ referral_url }}</p>{{ include \"footer\" }}" } }, customerId = "R1",
        })).JsonAsync(200);
        Assert.Contains($"http://localhost:5080/r/{code}", custom.GetProperty("html").GetString());
        Assert.NotEqual(code, await CodeOfAsync(app, "R2"));
        Assert.Equal(2, await app.WithDbAsync(db => db.ReferralCodes.CountAsync()));
        var vocabulary = await (await app.Api.GetAsync("/api/templates/vocabulary")).JsonAsync(200);
        Assert.Contains("referral_url", vocabulary.GetProperty("functions").EnumerateArray().Select(h => h.GetProperty("name").GetString()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheLandingPageShowsTheFriendsOfferSetsTheCookieAndRecordsTheVisit(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        var code = await CodeOfAsync(app, "R1");
        using var friend = app.CreateClient();
        friend.DefaultRequestHeaders.AcceptLanguage.ParseAdd("de-DE");

        var page = await friend.GetAsync($"/r/{code.ToLowerInvariant()}?c=999");
        Assert.Equal(200, (int)page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Ihr Willkommensgeschenk: ein Gutschein über 10,00 € für eine Bestellung ab 50,00 €.", html);
        Assert.DoesNotContain("r1@example.com", html);
        Assert.Contains($"rc_ref={code}\">", html); // the shop link carries the code for a shop on another host
        var cookie = page.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith($"rc_ref={code};", cookie); // campaign 999 does not exist: not remembered
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("no-referrer", page.Headers.GetValues("Referrer-Policy").Single());
        var visit = await app.WithDbAsync(db => db.ReferralVisits.AsNoTracking().SingleAsync());
        Assert.Equal((code, (long?)null), (visit.Code, visit.CampaignId));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task UnknownCodesGetAFriendly404ThatRevealsNothingAndGuessingIsRefused(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["PublicPages:BadLinksPerMinute"] = "3" });
        await ConsentingCustomerAsync(app, "R1");
        var code = await CodeOfAsync(app, "R1");
        using var guesser = app.CreateClient();
        guesser.DefaultRequestHeaders.AcceptLanguage.ParseAdd("en");
        foreach (var guess in new[] { "AAAAAAAAAAAAAAAA", "short", code[..15] + (code[15] == '0' ? '1' : '0') })
        {
            var answer = await guesser.GetAsync($"/r/{guess}");
            Assert.Equal(404, (int)answer.StatusCode);
            var html = await answer.Content.ReadAsStringAsync();
            Assert.Contains("We do not know this referral link", html);
            Assert.False(answer.Headers.Contains("Set-Cookie"));
        }
        Assert.Equal(429, (int)(await guesser.GetAsync($"/r/{code}")).StatusCode);
        Assert.Equal(0, await app.WithDbAsync(db => db.ReferralVisits.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ProgramsAreValidatedAndOnlyOneIsActive(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var bad = await (await app.Api.PostAsJsonAsync("/api/referral-programs", new
        {
            name = "Bad", friendOffer = new { codes = "generated" }, referrerReward = new { codes = "mail", value = 5 }, reviewDays = -1,
        })).ProblemErrorsAsync(400);
        Assert.Equal(["friendOffer.value", "referrerReward.codes", "reviewDays"], bad.Keys.Order());
        Assert.Equal(["friendOffer", "name", "referrerReward"], (await (await app.Api.PostAsJsonAsync("/api/referral-programs", new { })).ProblemErrorsAsync(400)).Keys.Order());

        var first = await ActiveProgramAsync(app);
        var second = await ActiveProgramAsync(app, new
        {
            name = "Spring", active = true, friendOffer = new { codes = "pool", percentOff = 15 }, referrerReward = new { codes = "pool", percentOff = 20 },
        });
        var programs = await (await app.Api.GetAsync("/api/referral-programs")).JsonAsync(200);
        Assert.Equal([false, true], programs.EnumerateArray().Select(p => p.GetProperty("active").GetBoolean()));
        Assert.Contains("name", (await (await app.Api.PutAsJsonAsync($"/api/referral-programs/{second.GetProperty("id")}", new { name = "Friends" })).ProblemErrorsAsync(409)).Keys);

        var upload = await (await app.Api.PostAsJsonAsync($"/api/referral-programs/{second.GetProperty("id")}/coupons/friend", new { codes = new[] { "SPRING-A", "SPRING-B" } })).JsonAsync(200);
        Assert.Equal(2, upload.GetProperty("available").GetInt32());
        Assert.Equal(["side"], (await (await app.Api.PostAsJsonAsync($"/api/referral-programs/{first.GetProperty("id")}/coupons/both", new { codes = new[] { "X-1" } })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/referral-programs/999")).StatusCode);
    }

    [GeneratedRegex("http://localhost:5080/r/(?<code>[0-9A-Z]+)")]
    private static partial Regex ReferralLink();
}
