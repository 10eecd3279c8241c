using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Tests.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Scenarios;
using static RetentionCampaigns.Tests.PublicPages.UnsubscribePageTests;

namespace RetentionCampaigns.Tests.Consent;

public sealed class SuppressionTests
{
    static async Task<JsonElement> CheckAsync(RetentionApp app, string email) =>
        await (await app.Api.GetAsync($"/api/suppressions/check?email={Uri.EscapeDataString(email)}")).JsonAsync(200);

    [Theory, ClassData(typeof(BothStores))]
    public async Task ManualEntriesAreAddedCheckedListedAsHashesAndRemoved(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        Assert.Equal(["email"], (await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = "not an address" })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(["email"], (await (await app.Api.GetAsync("/api/suppressions/check")).ProblemErrorsAsync(400)).Keys);

        var added = await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = "Someone@Example.COM", note = "asked by phone" })).JsonAsync(201);
        Assert.Equal("manual", added.GetProperty("reason").GetString());
        Assert.Equal("asked by phone", added.GetProperty("detail").GetString());
        Assert.StartsWith("api key", added.GetProperty("source").GetString());
        // Another spelling of the same mailbox is the same entry.
        var again = await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = " someone@example.com" })).JsonAsync(200);
        Assert.Equal(added.GetProperty("addressHash").GetString(), again.GetProperty("addressHash").GetString());
        var check = await CheckAsync(app, "someone@EXAMPLE.com");
        Assert.True(check.GetProperty("suppressed").GetBoolean());
        Assert.False((await CheckAsync(app, "other@example.com")).GetProperty("suppressed").GetBoolean());

        // The list holds no address, only the salted hash.
        var listed = await (await app.Api.GetAsync("/api/suppressions")).JsonAsync(200);
        var item = Assert.Single(listed.GetProperty("items").EnumerateArray());
        Assert.Matches("^[0-9a-f]{64}$", item.GetProperty("addressHash").GetString());
        Assert.DoesNotContain("someone", listed.GetRawText(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("next").ValueKind);
        Assert.Equal(["reason"], (await (await app.Api.GetAsync("/api/suppressions?reason=spam")).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(["after"], (await (await app.Api.GetAsync("/api/suppressions?after=xyz")).ProblemErrorsAsync(400)).Keys);

        Assert.Equal(204, (int)(await app.Api.DeleteAsync("/api/suppressions?email=someone%40example.com")).StatusCode);
        Assert.False((await CheckAsync(app, "someone@example.com")).GetProperty("suppressed").GetBoolean());
        Assert.Equal(404, (int)(await app.Api.DeleteAsync("/api/suppressions?email=someone%40example.com")).StatusCode);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheListPagesThroughEveryEntryOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        for (var i = 0; i < 130; i++)
            await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = $"person{i}@example.com" })).JsonAsync(201);
        var first = await (await app.Api.GetAsync("/api/suppressions?reason=manual")).JsonAsync(200);
        Assert.Equal(100, first.GetProperty("items").GetArrayLength());
        var next = first.GetProperty("next").GetString();
        var second = await (await app.Api.GetAsync($"/api/suppressions?reason=manual&after={Uri.EscapeDataString(next!)}")).JsonAsync(200);
        Assert.Equal(30, second.GetProperty("items").GetArrayLength());
        var hashes = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(i => i.GetProperty("addressHash").GetString()).ToHashSet();
        Assert.Equal(130, hashes.Count);
        Assert.Equal(0, (await (await app.Api.GetAsync("/api/suppressions?reason=complaint")).JsonAsync(200)).GetProperty("items").GetArrayLength());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ProviderFeedbackSuppressesComplaintsAndHardBouncesAndAComplaintWithdrawsConsent(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var complainer = await ConsentingCustomerAsync(app, "F1");

        // All or nothing: one bad event rejects the request, with the field at fault.
        var bad = await (await app.Api.PostAsJsonAsync("/api/webhooks/feedback", new
        {
            events = new object[]
            {
                new { type = "complaint", email = "f1@example.com" },
                new { type = "spam", email = "x@example.com" },
                new { type = "bounce", email = "y@example.com" },
                new { type = "bounce", email = "z@example.com", status = "5.1" },
            },
        })).ProblemErrorsAsync(400);
        Assert.Equal(["events[1].type", "events[2].bounceType", "events[3].status"], bad.Keys.Order());
        Assert.Equal(0, await app.WithDbAsync(db => db.Suppressions.CountAsync()));
        Assert.Equal(["events"], (await (await app.Api.PostAsJsonAsync("/api/webhooks/feedback", new { events = Array.Empty<object>() })).ProblemErrorsAsync(400)).Keys);

        var result = await (await app.Api.PostAsJsonAsync("/api/webhooks/feedback", new
        {
            provider = "acme-mail",
            events = new object[]
            {
                new { type = "complaint", email = "F1@example.com", messageId = "<abc@shop.example>", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5) },
                new { type = "bounce", email = "gone@example.com", status = "5.1.1", diagnostic = "550 5.1.1 no such user" },
                new { type = "bounce", email = "full@example.com", bounceType = "soft", status = "4.2.2" },
                new { type = "bounce", email = "gone@example.com", bounceType = "hard" },
                // A permanent refusal that says nothing about the address (a blocklist) does not suppress it.
                new { type = "bounce", email = "blocked@example.com", status = "5.7.1", diagnostic = "550 5.7.1 listed at a blocklist" },
            },
        })).JsonAsync(200);
        Assert.Equal((2, 1, 1, 2), (result.GetProperty("suppressed").GetInt32(), result.GetProperty("alreadySuppressed").GetInt32(),
            result.GetProperty("consentWithdrawn").GetInt32(), result.GetProperty("ignored").GetInt32()));

        var complaint = (await CheckAsync(app, "f1@example.com")).GetProperty("entry");
        Assert.Equal(("complaint", "acme-mail"), (complaint.GetProperty("reason").GetString(), complaint.GetProperty("source").GetString()));
        Assert.Contains("<abc@shop.example>", complaint.GetProperty("detail").GetString());
        var bounce = (await CheckAsync(app, "gone@example.com")).GetProperty("entry");
        Assert.Equal("hard_bounce", bounce.GetProperty("reason").GetString());
        Assert.Contains("550 5.1.1 no such user", bounce.GetProperty("detail").GetString());
        Assert.False((await CheckAsync(app, "full@example.com")).GetProperty("suppressed").GetBoolean());

        Assert.Equal("withdrawn", await MarketingStatusAsync(app, complainer));
        var withdrawal = await app.WithDbAsync(db => db.ConsentEvents.SingleAsync(e => e.CustomerId == complainer && e.Status == "withdrawn"));
        Assert.Equal("complaint", withdrawal.Source);

        // A complaint is never lifted by hand; a hard bounce may be (the address was fixed).
        Assert.Contains("email", (await (await app.Api.DeleteAsync("/api/suppressions?email=f1%40example.com")).ProblemErrorsAsync(409)).Keys);
        Assert.Equal(204, (int)(await app.Api.DeleteAsync("/api/suppressions?email=gone%40example.com")).StatusCode);

        // The same complaint delivered twice records nothing new.
        var repeat = await (await app.Api.PostAsJsonAsync("/api/webhooks/feedback", new { events = new[] { new { type = "complaint", email = "f1@example.com" } } })).JsonAsync(200);
        Assert.Equal((0, 1, 0), (repeat.GetProperty("suppressed").GetInt32(), repeat.GetProperty("alreadySuppressed").GetInt32(), repeat.GetProperty("consentWithdrawn").GetInt32()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheWebhookNeedsAnApiKey(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        using var anonymous = app.CreateClient();
        var answer = await anonymous.PostAsJsonAsync("/api/webhooks/feedback", new { events = new[] { new { type = "complaint", email = "a@example.com" } } });
        Assert.Equal(401, (int)answer.StatusCode);
        Assert.Equal(0, await app.WithDbAsync(db => db.Suppressions.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AHardBounceSuppressesTheAddressAndSuppressedAddressesAreSkippedWithTheReason(DatabaseProvider store)
    {
        using var server = await DeliveryCounter.StartAsync("--reject-rcpt", "gone");
        await using var app = await RetentionApp.StartAsync(store, server.AppSettings());
        foreach (var name in new[] { "Kept", "Gone", "Manual" }) await ConsentingCustomerAsync(app, name);
        await (await app.Api.PostAsJsonAsync("/api/suppressions", new { email = "MANUAL@example.com" })).JsonAsync(201);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);

        var first = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "First");
        Assert.Equal(DeliveryStatuses.Sent, first["Kept"].Status);
        Assert.Equal(DeliveryStatuses.Failed, first["Gone"].Status);
        Assert.StartsWith("550 5.1.1", first["Gone"].Reply);
        Assert.Equal((DeliveryStatuses.Skipped, "the address is on the suppression list (manual)"), (first["Manual"].Status, first["Manual"].Reason));
        var bounce = (await CheckAsync(app, "gone@example.com")).GetProperty("entry");
        Assert.Equal("hard_bounce", bounce.GetProperty("reason").GetString());
        Assert.StartsWith("550 5.1.1", bounce.GetProperty("detail").GetString());

        var second = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Second");
        Assert.Equal((DeliveryStatuses.Skipped, "the address is on the suppression list (hard bounce)"), (second["Gone"].Status, second["Gone"].Reason));
        Assert.Equal(2, server.Count);
    }
}
