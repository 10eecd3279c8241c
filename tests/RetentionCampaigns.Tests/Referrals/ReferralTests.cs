using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Referrals;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;
using static RetentionCampaigns.Tests.Referrals.ReferralLinkTests;

namespace RetentionCampaigns.Tests.Referrals;

public sealed class ReferralTests
{
    static Task<HttpResponseMessage> AttributeAsync(RetentionApp app, string code, string friend, string? ip = null) =>
        app.Api.PostAsJsonAsync("/api/referrals", new { code, customerId = friend, ipAddress = ip });

    static async Task CustomerAsync(RetentionApp app, string id, string email) =>
        await (await app.Api.PutAsJsonAsync($"/api/customers/{id}", new { email, locale = "en" })).JsonAsync(201);

    static async Task OrderAsync(RetentionApp app, string id, string customer, decimal amount, DateTimeOffset at, decimal refunded = 0, int status = 201,
        string? paidWith = null) =>
        await (await app.Api.PutAsJsonAsync($"/api/orders/{id}", new
        {
            customerId = customer, orderedAt = at, amount, refundedAmount = refunded, currency = "EUR", paymentFingerprint = paidWith,
        })).JsonAsync(status);

    static Task<RewardRun> RunRewardsAsync(RetentionApp app) =>
        app.ServiceAsync<ReferralRewards, RewardRun>(rewards => rewards.RunAsync(CancellationToken.None));

    /// <summary>The review period of every referral waiting for it ends now.</summary>
    static Task EndReviewPeriodsAsync(RetentionApp app) => app.WithDbAsync(db => db.Referrals
        .Where(r => r.Status == ReferralStatuses.Ordered).ExecuteUpdateAsync(u => u.SetProperty(r => r.RewardDueAt, DateTime.UtcNow.AddMinutes(-1))));

    [Theory, ClassData(typeof(BothStores))]
    public async Task SelfReferralsOldCustomersAndUnknownCodesAreRefusedAndAFriendCountsOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        await ConsentingCustomerAsync(app, "R2");
        var code = await CodeOfAsync(app, "R1");
        var other = await CodeOfAsync(app, "R2");
        await CustomerAsync(app, "Alias", "R1+promo@Example.com");
        await CustomerAsync(app, "Old", "old@example.com");
        await OrderAsync(app, "O-OLD", "Old", 80, DateTimeOffset.UtcNow.AddDays(-30));
        await CustomerAsync(app, "F1", "f1@example.com");

        Assert.Equal(["code"], (await (await AttributeAsync(app, "abc", "F1")).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(["code"], (await (await AttributeAsync(app, "ZZZZZZZZZZZZZZZZ", "F1")).ProblemErrorsAsync(422)).Keys);
        Assert.Equal(["customerId"], (await (await AttributeAsync(app, code, "nobody")).ProblemErrorsAsync(422)).Keys);
        foreach (var (friend, why) in new[] { ("R1", "the friend is the referrer"), ("Alias", "the friend's address is the referrer's"), ("Old", "only new customers count") })
        {
            var refused = await AttributeAsync(app, code, friend);
            Assert.Equal(422, (int)refused.StatusCode);
            Assert.Contains(why, (await refused.JsonAsync(422)).GetProperty("detail").GetString());
        }

        var created = await (await AttributeAsync(app, code.ToLowerInvariant(), "F1")).JsonAsync(201);
        Assert.Equal(("signed_up", "R1", "F1"), (created.GetProperty("status").GetString(), created.GetProperty("referrerId").GetString(), created.GetProperty("friendId").GetString()));
        var again = await (await AttributeAsync(app, code, "F1")).JsonAsync(200);
        Assert.Equal(created.GetProperty("id").GetInt64(), again.GetProperty("id").GetInt64());
        Assert.Contains("customerId", (await (await AttributeAsync(app, other, "F1")).ProblemErrorsAsync(409)).Keys);
        Assert.Equal(1, await app.WithDbAsync(db => db.Referrals.CountAsync()));

        Assert.True(ReferralsApi.SameMailbox("Anna.Berg+shop@googlemail.com", "annaberg@gmail.com"));
        Assert.False(ReferralsApi.SameMailbox("anna.berg@example.com", "annaberg@example.com"));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ABurstOfSignUpsFromOneAddressIsHeldForReview(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["Referrals:SignupsPerAddressPerHour"] = "2" });
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        var code = await CodeOfAsync(app, "R1");
        var statuses = new List<string>();
        foreach (var friend in new[] { "F1", "F2", "F3" })
        {
            await CustomerAsync(app, friend, $"{friend.ToLowerInvariant()}@example.com");
            statuses.Add((await (await AttributeAsync(app, code, friend, "198.51.100.7")).JsonAsync(201)).GetProperty("status").GetString()!);
        }
        Assert.Equal(["signed_up", "signed_up", "flagged"], statuses);

        var held = await (await app.Api.GetAsync("/api/referrals?status=flagged")).JsonAsync(200);
        var flagged = Assert.Single(held.GetProperty("items").EnumerateArray());
        Assert.Contains("burst: 3 referred sign-ups from 198.51.100.7", flagged.GetProperty("reason").GetString());
        var id = flagged.GetProperty("id").GetInt64();
        var approved = await (await app.Api.PostAsJsonAsync($"/api/referrals/{id}/approve", new { reason = "a family at one address" })).JsonAsync(200);
        Assert.Equal("signed_up", approved.GetProperty("status").GetString());
        Assert.Contains("a family at one address", approved.GetProperty("reason").GetString());
        Assert.Contains("status", (await (await app.Api.PostAsync($"/api/referrals/{id}/approve", null)).ProblemErrorsAsync(409)).Keys);
        var rejected = await (await app.Api.PostAsJsonAsync($"/api/referrals/{id}/reject", new { reason = "same person" })).JsonAsync(200);
        Assert.Equal("rejected", rejected.GetProperty("status").GetString());
        Assert.Equal(["status"], (await (await app.Api.GetAsync("/api/referrals?status=odd")).ProblemErrorsAsync(400)).Keys);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AFullJourneyRewardsBothOnceEvenWhenTheJobRunsTwice(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app);
        // A promoter (NPS 10) gets the invitation.
        await ConsentingCustomerAsync(app, "P1", locale: "en");
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", new { customerId = "P1", answeredAt = DateTimeOffset.UtcNow.AddDays(-3), nps = 10 })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/templates/referral-invitation/test-send", new { to = "p1@example.com", customerId = "P1" })).JsonAsync(200);
        var invitation = Assert.Single(OutboxMessage.ReadAll(app.Outbox));
        var link = System.Text.RegularExpressions.Regex.Match(invitation.Text, @"http://localhost:5080/r/[0-9A-Z]{16}").Value;
        Assert.NotEmpty(link);

        // The friend follows it (as a campaign would send it); the shop reads the cookie at sign-up and reports it.
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Promoters to invite", rule = new { field = "nps_category", op = "=", value = "promoter" } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new { name = "Invite", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "referral-invitation", schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(7) } })).JsonAsync(201);
        var campaignId = campaign.GetProperty("id").GetInt64();
        using var friendBrowser = app.CreateClient();
        var landing = await friendBrowser.GetAsync(PathOf(link) + $"?c={campaignId}");
        Assert.Equal(200, (int)landing.StatusCode);
        var cookie = landing.Headers.GetValues("Set-Cookie").Single().Split(';')[0].Split('=')[1];
        await CustomerAsync(app, "FR1", "friend@example.org");
        var referral = await (await AttributeAsync(app, cookie, "FR1", "203.0.113.9")).JsonAsync(201);
        var id = referral.GetProperty("id").GetInt64();

        // No order yet: nothing happens. An order below the minimum does not count; the next one does.
        Assert.Equal(new RewardRun(0, 0, 0, 0, 0, 0), await RunRewardsAsync(app));
        await OrderAsync(app, "FR1-1", "FR1", 20, DateTimeOffset.UtcNow.AddHours(-2));
        await OrderAsync(app, "FR1-2", "FR1", 64.90m, DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(1, (await RunRewardsAsync(app)).Ordered);
        var waiting = await (await app.Api.GetAsync($"/api/referrals/{id}")).JsonAsync(200);
        Assert.Equal(("ordered", "FR1-2"), (waiting.GetProperty("status").GetString(), waiting.GetProperty("firstOrder").GetProperty("externalId").GetString()));
        Assert.Equal(0, (await RunRewardsAsync(app)).Rewarded); // the review period is not over

        await EndReviewPeriodsAsync(app);
        var runs = await Task.WhenAll(RunRewardsAsync(app), RunRewardsAsync(app));
        Assert.Equal(1, runs.Sum(r => r.Rewarded));
        Assert.Equal(0, (await RunRewardsAsync(app)).Rewarded);

        var rewarded = await (await app.Api.GetAsync($"/api/referrals/{id}")).JsonAsync(200);
        Assert.Equal("rewarded", rewarded.GetProperty("status").GetString());
        Assert.Equal("sent", rewarded.GetProperty("notice").GetString());
        var referrerCoupon = rewarded.GetProperty("referrerCoupon").GetString()!;
        var friendCoupon = rewarded.GetProperty("friendCoupon").GetString()!;
        Assert.StartsWith("THANKS-", referrerCoupon);
        Assert.StartsWith("FRIEND-", friendCoupon);
        var coupons = await app.WithDbAsync(db => db.Coupons.AsNoTracking().Where(c => c.IssuedFor == ReferralRewards.IssuedFor(id)).ToListAsync());
        Assert.Equal(2, coupons.Count);
        Assert.Equal((1500L, 1000L), (coupons.Single(c => c.Code == referrerCoupon).ValueMinor!.Value, coupons.Single(c => c.Code == friendCoupon).ValueMinor!.Value));

        // The referrer got one notice with their code; the friend got no email from us.
        var mail = OutboxMessage.ReadAll(app.Outbox);
        var notice = Assert.Single(mail, m => m.Raw.Contains("X-RC-Template: referral-reward"));
        Assert.Equal(["p1@example.com"], notice.To);
        Assert.Contains(referrerCoupon, notice.Text);
        Assert.DoesNotContain(mail, m => m.Raw.Contains("friend@example.org"));

        // The report counts the journey overall, for the referrer and for the campaign whose link was followed.
        var report = await (await app.Api.GetAsync("/api/referrals/report")).JsonAsync(200);
        static (int, int, int, decimal, int) Figures(JsonElement f) => (f.GetProperty("visits").GetInt32(), f.GetProperty("signUps").GetInt32(),
            f.GetProperty("firstOrders").GetInt32(), f.GetProperty("revenue").GetDecimal(), f.GetProperty("rewards").GetInt32());
        Assert.Equal((1, 1, 1, 84.90m, 1), Figures(report.GetProperty("overall")));
        var byReferrer = Assert.Single(report.GetProperty("byReferrer").EnumerateArray());
        Assert.Equal("P1", byReferrer.GetProperty("referrerId").GetString());
        Assert.Equal((1, 1, 1, 84.90m, 1), Figures(byReferrer.GetProperty("figures")));
        var byCampaign = Assert.Single(report.GetProperty("byCampaign").EnumerateArray());
        Assert.Equal((campaignId, "Invite"), (byCampaign.GetProperty("campaignId").GetInt64(), byCampaign.GetProperty("campaignName").GetString()));
        Assert.Equal((1, 1, 1, 84.90m, 1), Figures(byCampaign.GetProperty("figures")));
        Assert.Equal(["from"], (await (await app.Api.GetAsync("/api/referrals/report?from=2026-02-01&to=2026-01-01")).ProblemErrorsAsync(400)).Keys);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ReturnedOrdersAreRejectedAndRewardsBeyondTheCapAreHeld(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app, new
        {
            name = "Capped", active = true, friendOffer = new { codes = "generated", value = 5 }, referrerReward = new { codes = "generated", value = 5 },
            qualifyingMinimum = 30, reviewDays = 14, maxRewardsPerReferrer = 1, rewardPeriodDays = 365,
        });
        await ConsentingCustomerAsync(app, "R1");
        var code = await CodeOfAsync(app, "R1");
        foreach (var friend in new[] { "F1", "F2", "F3" })
        {
            await CustomerAsync(app, friend, $"{friend.ToLowerInvariant()}@example.org");
            await (await AttributeAsync(app, code, friend)).JsonAsync(201);
            await OrderAsync(app, $"{friend}-1", friend, 50, DateTimeOffset.UtcNow.AddHours(-1));
        }
        Assert.Equal(3, (await RunRewardsAsync(app)).Ordered);
        // F1's order is returned in full during the review period.
        await OrderAsync(app, "F1-1", "F1", 50, DateTimeOffset.UtcNow.AddHours(-1), refunded: 50, status: 200);
        await EndReviewPeriodsAsync(app);
        var run = await RunRewardsAsync(app);
        Assert.Equal((1, 1, 1), (run.Rejected, run.Rewarded, run.Flagged));

        var all = await (await app.Api.GetAsync("/api/referrals")).JsonAsync(200);
        var byFriend = all.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("friendId").GetString()!, r => r);
        Assert.Equal("rejected", byFriend["F1"].GetProperty("status").GetString());
        Assert.Equal("rewarded", byFriend["F2"].GetProperty("status").GetString());
        Assert.Equal("flagged", byFriend["F3"].GetProperty("status").GetString());
        Assert.Contains("MaxRewardsPerReferrer 1", byFriend["F3"].GetProperty("reason").GetString());

        // A reviewer releases F3: the cap does not hold it again, and it is rewarded once.
        var f3 = byFriend["F3"].GetProperty("id").GetInt64();
        var released = await (await app.Api.PostAsJsonAsync($"/api/referrals/{f3}/approve", new { reason = "a real friend" })).JsonAsync(200);
        Assert.Equal("ordered", released.GetProperty("status").GetString());
        var afterRelease = await RunRewardsAsync(app);
        Assert.Equal((0, 1), (afterRelease.Flagged, afterRelease.Rewarded));
        Assert.Equal(0, (await RunRewardsAsync(app)).Rewarded);
        var f3Now = await (await app.Api.GetAsync($"/api/referrals/{f3}")).JsonAsync(200);
        Assert.Equal("rewarded", f3Now.GetProperty("status").GetString());
        Assert.True(f3Now.TryGetProperty("approvedAt", out var approvedAt) && approvedAt.ValueKind == JsonValueKind.String);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheRewardNoticeFollowsConsentAndIsTriedAgainWhenTheServerSaysLater(DatabaseProvider store)
    {
        using var sink = await SmtpSink.StartAsync("-r", "RCPT"); // 4xx to every recipient: "try later"
        await using var app = await RetentionApp.StartAsync(store, sink.AppSettings());
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        await CustomerAsync(app, "R2", "r2@example.com"); // a customer without marketing consent
        foreach (var (referrer, friend) in new[] { ("R1", "F1"), ("R2", "F2") })
        {
            await CustomerAsync(app, friend, $"{friend.ToLowerInvariant()}@example.org");
            await (await AttributeAsync(app, await CodeOfAsync(app, referrer), friend)).JsonAsync(201);
            await OrderAsync(app, $"{friend}-1", friend, 50, DateTimeOffset.UtcNow.AddHours(-1));
        }
        await RunRewardsAsync(app);
        await EndReviewPeriodsAsync(app);

        var first = await RunRewardsAsync(app);
        Assert.Equal((2, 0, 1), (first.Rewarded, first.NoticesSent, first.NoticesDeferred));
        async Task<(string? Notice, int Attempts)> NoticeOf(string friend)
        {
            var referral = await app.WithDbAsync(db => db.Referrals.AsNoTracking().SingleAsync(r => db.Customers.Any(c => c.Id == r.FriendId && c.ExternalId == friend)));
            return (referral.Notice, referral.NoticeAttempts);
        }
        Assert.Equal(("skipped: no marketing consent", 1), await NoticeOf("F2"));
        Assert.Equal((null, 1), await NoticeOf("F1")); // due again

        var second = await RunRewardsAsync(app);
        Assert.Equal((0, 1), (second.Rewarded, second.NoticesDeferred));
        Assert.Equal((null, 2), await NoticeOf("F1"));
        await app.WithDbAsync(db => db.Referrals.Where(r => r.Notice == null).ExecuteUpdateAsync(u => u.SetProperty(r => r.NoticeAttempts, ReferralRewards.NoticeAttempts - 1)));
        Assert.Equal(0, (await RunRewardsAsync(app)).NoticesDeferred);
        Assert.Equal(($"failed: the server said to try later {ReferralRewards.NoticeAttempts} times", ReferralRewards.NoticeAttempts), await NoticeOf("F1"));
        Assert.Equal(new RewardRun(0, 0, 0, 0, 0, 0, 0), await RunRewardsAsync(app));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ACustomerWhoLeftTheProgramGetsNoLinkNoNewFriendsAndNoReward(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        await ConsentingCustomerAsync(app, "R2");
        var code = await CodeOfAsync(app, "R1");
        await CustomerAsync(app, "F1", "f1@example.org");
        await (await AttributeAsync(app, code, "F1")).JsonAsync(201);
        await OrderAsync(app, "F1-1", "F1", 50, DateTimeOffset.UtcNow.AddHours(-1));
        Assert.Equal(1, (await RunRewardsAsync(app)).Ordered);

        // R1 leaves the referral program in the preference centre (or through the shop's API).
        await (await app.Api.PostAsJsonAsync("/api/consents", new
        {
            customerId = "R1", purpose = "referral_program", status = "withdrawn", lawfulBasis = "consent", source = "preference_page",
            occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        })).JsonAsync(201);

        Assert.Equal("", await CodeOfAsync(app, "R1"));
        using var friendBrowser = app.CreateClient();
        var landing = await friendBrowser.GetAsync($"/r/{code}");
        Assert.Equal(404, (int)landing.StatusCode);
        Assert.False(landing.Headers.Contains("Set-Cookie"));
        await CustomerAsync(app, "F2", "f2@example.org");
        Assert.Equal(["code"], (await (await AttributeAsync(app, code, "F2")).ProblemErrorsAsync(422)).Keys);

        // The pending referral: the friend still gets the offer, the referrer neither reward nor notice.
        await EndReviewPeriodsAsync(app);
        var run = await RunRewardsAsync(app);
        Assert.Equal((1, 0), (run.Rewarded, run.NoticesSent));
        var referral = (await (await app.Api.GetAsync("/api/referrals")).JsonAsync(200)).GetProperty("items").EnumerateArray().Single();
        Assert.Equal("rewarded", referral.GetProperty("status").GetString());
        Assert.StartsWith("FRIEND-", referral.GetProperty("friendCoupon").GetString());
        Assert.Equal(JsonValueKind.Null, referral.GetProperty("referrerCoupon").ValueKind);
        Assert.Equal("skipped: the referrer left the referral program", referral.GetProperty("notice").GetString());
        Assert.Empty(OutboxMessage.ReadAll(app.Outbox));

        // A campaign with the invitation leaves R1 out and invites R2.
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Referrers", rule = new { field = "consent.email_marketing", op = "=", value = "granted" } })).JsonAsync(201);
        var ledger = await Campaigns.CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Invite", templateKey: "referral-invitation");
        Assert.Equal(("skipped", "the customer left the referral program (no referral link)"), (ledger["R1"].Status, ledger["R1"].Reason));
        Assert.Equal("sent", ledger["R2"].Status);
        Assert.Contains("/r/", Assert.Single(OutboxMessage.ReadAll(app.Outbox)).Text);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task PayingWithTheReferrersPaymentMethodIsSelfReferralAndFriendsPayingAlikeAreHeld(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await ActiveProgramAsync(app);
        await ConsentingCustomerAsync(app, "R1");
        await OrderAsync(app, "R1-1", "R1", 80, DateTimeOffset.UtcNow.AddDays(-200), paidWith: "fp_card_r1");
        var code = await CodeOfAsync(app, "R1");

        // Reported with the first order, already paid with the referrer's card: refused at once.
        await CustomerAsync(app, "F0", "f0@example.org");
        await OrderAsync(app, "F0-1", "F0", 50, DateTimeOffset.UtcNow.AddMinutes(-10), paidWith: "fp_card_r1");
        Assert.Equal(["customerId"], (await (await AttributeAsync(app, code, "F0")).ProblemErrorsAsync(422)).Keys);

        // Signed up first, then ordered: F1 with the referrer's card, F2 and F3 with one card between them, F4 with its own.
        foreach (var (friend, card) in new[] { ("F1", "fp_card_r1"), ("F2", "fp_shared"), ("F3", "fp_shared"), ("F4", "fp_card_f4") })
        {
            await CustomerAsync(app, friend, $"{friend.ToLowerInvariant()}@example.org");
            await (await AttributeAsync(app, code, friend)).JsonAsync(201);
            await OrderAsync(app, $"{friend}-1", friend, 50, DateTimeOffset.UtcNow.AddHours(-1), paidWith: card);
        }
        Assert.Equal(4, (await RunRewardsAsync(app)).Ordered);
        await EndReviewPeriodsAsync(app);
        var run = await RunRewardsAsync(app);
        Assert.Equal((1, 2, 1), (run.Rejected, run.Flagged, run.Rewarded));

        var all = await (await app.Api.GetAsync("/api/referrals")).JsonAsync(200);
        var byFriend = all.GetProperty("items").EnumerateArray().ToDictionary(r => r.GetProperty("friendId").GetString()!, r => r);
        Assert.Equal(("rejected", "self-referral: the first order was paid with a payment method the referrer uses"),
            (byFriend["F1"].GetProperty("status").GetString(), byFriend["F1"].GetProperty("reason").GetString()));
        Assert.Equal("flagged", byFriend["F2"].GetProperty("status").GetString());
        Assert.Contains("the first order of F3", byFriend["F2"].GetProperty("reason").GetString());
        Assert.Equal("flagged", byFriend["F3"].GetProperty("status").GetString());
        Assert.Equal("rewarded", byFriend["F4"].GetProperty("status").GetString());

        // A reviewer finds F2 genuine (a shared family card); F3 stays held.
        await (await app.Api.PostAsJsonAsync($"/api/referrals/{byFriend["F2"].GetProperty("id").GetInt64()}/approve", new { reason = "family card" })).JsonAsync(200);
        Assert.Equal(1, (await RunRewardsAsync(app)).Rewarded);
        Assert.Equal("flagged", (await (await app.Api.GetAsync($"/api/referrals/{byFriend["F3"].GetProperty("id").GetInt64()}")).JsonAsync(200)).GetProperty("status").GetString());
    }
}
