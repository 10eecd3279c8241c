using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.Coupons;

public sealed partial class CouponTests
{
    /// <summary>Consenting customers, a segment of them all, and a scheduled campaign with the given offer (not yet run).</summary>
    static async Task<long> CampaignAsync(RetentionApp app, int customers, object offer)
    {
        var list = Enumerable.Range(1, customers).Select(i => new { externalId = $"C{i}", email = $"c{i}@example.com", locale = i % 2 == 0 ? "en" : "de" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = list })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, list.Select(c => c.externalId));
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All C", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var campaign = await (await app.Api.PostAsJsonAsync("/api/campaigns", new
        {
            name = "Coupons", segmentId = segment.GetProperty("id").GetInt64(), templateKey = "win-back",
            schedule = new { kind = "once", sendAt = DateTimeOffset.UtcNow.AddDays(1) }, policy = new { quietFrom = "", quietUntil = "" }, offer,
        })).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        return campaign.GetProperty("id").GetInt64();
    }

    static async Task<CampaignRun> RunAsync(RetentionApp app, long campaignId)
    {
        await (await app.Api.PostAsync($"/api/campaigns/{campaignId}/schedule", null)).JsonAsync(200);
        var run = await app.ServiceAsync<CampaignRuns, CampaignRun?>(runs => runs.StartAsync(campaignId, DateTime.UtcNow.Date, CancellationToken.None));
        await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run!.Id, "coupon-test", CancellationToken.None));
        return run!;
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task EachRecipientGetsTheirOwnCodeFromThePoolAndThoseBeyondItAreSkippedWithTheReason(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await CampaignAsync(app, 30, new { codes = "pool", value = 5, minimumOrder = 40, validDays = 10 });

        // An empty pool cannot be scheduled.
        Assert.Contains("offer.codes", (await (await app.Api.PostAsync($"/api/campaigns/{id}/schedule", null)).ProblemErrorsAsync(422)).Keys);
        var bad = await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { codes = new[] { "GOOD-1", "no spaces please", "" } })).ProblemErrorsAsync(400);
        Assert.Equal(["codes[1]", "codes[2]"], bad.Keys.Order());
        Assert.Equal(0, await app.WithDbAsync(db => db.Coupons.CountAsync()));
        Assert.Contains("codes", (await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { })).ProblemErrorsAsync(400)).Keys);

        var codes = Enumerable.Range(1, 25).Select(i => $"spring-{i:D3}").ToList();
        var upload = await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { codes })).JsonAsync(200);
        Assert.Equal((25, 0, 25), (upload.GetProperty("added").GetInt32(), upload.GetProperty("alreadyKnown").GetInt32(), upload.GetProperty("available").GetInt32()));
        var again = await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { codes = new[] { "SPRING-001", "Spring-002", "SPRING-026" } })).JsonAsync(200);
        Assert.Equal((1, 2, 26), (again.GetProperty("added").GetInt32(), again.GetProperty("alreadyKnown").GetInt32(), again.GetProperty("available").GetInt32()));

        var run = await RunAsync(app, id);
        var ledger = await app.WithDbAsync(db => db.Deliveries.AsNoTracking().Where(d => d.RunId == run.Id).ToListAsync());
        Assert.Equal(26, ledger.Count(d => d.Status == DeliveryStatuses.Sent));
        Assert.All(ledger.Where(d => d.Status != DeliveryStatuses.Sent), d =>
        {
            Assert.Equal(DeliveryStatuses.Skipped, d.Status);
            Assert.StartsWith("no coupon code left in the campaign's pool", d.Reason);
        });

        // Every message shows the code issued to its recipient, and no code went to two people.
        var issued = await app.WithDbAsync(db => db.Coupons.AsNoTracking().Where(c => c.IssuedFor == CampaignSender.CouponsIssuedFor(run.Id)).ToListAsync());
        Assert.Equal(26, issued.Count);
        Assert.Equal(26, issued.Select(c => c.CustomerId).Distinct().Count());
        foreach (var message in Messages(app))
        {
            var customerId = long.Parse(message.Delivery.Split('-')[1]);
            var coupon = Assert.Single(issued, c => c.CustomerId == customerId);
            Assert.Contains(coupon.Code, message.Text);
            Assert.Equal((500L, 4000L), (coupon.ValueMinor!.Value, coupon.MinimumOrderMinor!.Value));
            Assert.InRange(coupon.ExpiresAt!.Value, DateTime.UtcNow.AddDays(9.9), DateTime.UtcNow.AddDays(10.1));
        }
        Assert.Contains(Messages(app), m => m.Text.Contains("5,00") && m.Text.Contains("40,00")); // German amounts
        Assert.Contains(Messages(app), m => m.Text.Contains("5.00") && m.Text.Contains("40.00"));

        var report = await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}")).JsonAsync(200);
        Assert.Equal(26, report.GetProperty("couponsIssued").GetInt32());
        var summary = await (await app.Api.GetAsync($"/api/campaigns/{id}/coupons")).JsonAsync(200);
        Assert.Equal((0, 26), (summary.GetProperty("available").GetInt32(), summary.GetProperty("issued").GetInt32()));

        // Sending the run again (a repeated job) issues nothing more.
        await app.ServiceAsync<CampaignSender, CampaignSender.Progress>(sender => sender.SendAsync(run.Id, "coupon-test-2", CancellationToken.None));
        Assert.Equal(26, await app.WithDbAsync(db => db.Coupons.CountAsync(c => c.IssuedAt != null)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task GeneratedCodesAreUniqueOneForEachRecipientAndStableWhenIssuedAgain(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await CampaignAsync(app, 40, new { codes = "generated", prefix = "WB", percentOff = 15, validDays = 14 });
        var run = await RunAsync(app, id);

        var issued = await app.WithDbAsync(db => db.Coupons.AsNoTracking().Where(c => c.IssuedFor == CampaignSender.CouponsIssuedFor(run.Id)).ToListAsync());
        Assert.Equal(40, issued.Count);
        Assert.Equal(40, issued.Select(c => c.Code).Distinct().Count());
        Assert.All(issued, c => Assert.Matches("^WB-[0-9A-HJKMNP-TV-Z]{10}$", c.Code));
        Assert.All(issued, c => Assert.Equal((CouponSources.Generated, 15, (long?)null), (c.Source, c.PercentOff!.Value, c.ValueMinor)));
        var messages = Messages(app);
        Assert.Equal(40, messages.Count);
        Assert.All(messages, m => Assert.Contains(issued.Single(c => c.CustomerId == long.Parse(m.Delivery.Split('-')[1])).Code, m.Text));
        Assert.Contains(messages, m => m.Text.Contains("15 % Rabatt"));
        Assert.Contains(messages, m => m.Text.Contains("15 % off"));

        // Issuing again for the same run (a retried message) hands out the same codes.
        var customers = issued.Select(c => c.CustomerId!.Value).ToList();
        var again = await app.WithDbAsync(db => CouponIssuer.IssueAsync(db, CouponsApi.CampaignPool(id), new CouponTerms(true, "WB", null, 15, null, 14),
            CampaignSender.CouponsIssuedFor(run.Id), customers, DateTime.UtcNow, CancellationToken.None));
        Assert.All(issued, c => Assert.Equal(c.Code, again[c.CustomerId!.Value].Code));
        Assert.Equal(40, await app.WithDbAsync(db => db.Coupons.CountAsync()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheCheckoutLooksACodeUpAndRedeemsItOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var id = await CampaignAsync(app, 3, new { codes = "pool", value = 10, validDays = 30 });
        await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { codes = new[] { "A-100", "A-101", "A-102", "A-103" } })).JsonAsync(200);
        await RunAsync(app, id);
        var issued = await app.WithDbAsync(db => db.Coupons.AsNoTracking().Where(c => c.IssuedAt != null).OrderBy(c => c.Code).ToListAsync());
        Assert.Equal(["A-100", "A-101", "A-102"], issued.Select(c => c.Code));

        var found = await (await app.Api.GetAsync("/api/coupons/a-101")).JsonAsync(200);
        Assert.Equal("issued", found.GetProperty("status").GetString());
        Assert.Matches("^C[123]$", found.GetProperty("customerId").GetString());
        Assert.Equal(10m, found.GetProperty("value").GetDecimal());
        Assert.Equal("available", (await (await app.Api.GetAsync("/api/coupons/A-103")).JsonAsync(200)).GetProperty("status").GetString());
        Assert.Equal(404, (int)(await app.Api.GetAsync("/api/coupons/NOPE-1")).StatusCode);

        var redeemed = await (await app.Api.PostAsJsonAsync("/api/coupons/A-101/redeem", new { orderId = "O-1" })).JsonAsync(200);
        Assert.Equal("redeemed", redeemed.GetProperty("status").GetString());
        Assert.Equal("redeemed", (await (await app.Api.PostAsJsonAsync("/api/coupons/a-101/redeem", new { orderId = "O-1" })).JsonAsync(200)).GetProperty("status").GetString());
        Assert.Contains("code", (await (await app.Api.PostAsJsonAsync("/api/coupons/A-101/redeem", new { orderId = "O-2" })).ProblemErrorsAsync(409)).Keys);
        Assert.Contains("code", (await (await app.Api.PostAsJsonAsync("/api/coupons/A-103/redeem", new { orderId = "O-3" })).ProblemErrorsAsync(409)).Keys);
        Assert.Contains("orderId", (await (await app.Api.PostAsJsonAsync("/api/coupons/A-102/redeem", new { })).ProblemErrorsAsync(400)).Keys);
        Assert.Equal(404, (int)(await app.Api.PostAsJsonAsync("/api/coupons/NOPE-1/redeem", new { orderId = "O-4" })).StatusCode);

        await app.WithDbAsync(db => db.Coupons.Where(c => c.Code == "A-102").ExecuteUpdateAsync(u => u.SetProperty(c => c.ExpiresAt, DateTime.UtcNow.AddDays(-1))));
        Assert.Equal("expired", (await (await app.Api.GetAsync("/api/coupons/A-102")).JsonAsync(200)).GetProperty("status").GetString());
        Assert.Contains("code", (await (await app.Api.PostAsJsonAsync("/api/coupons/A-102/redeem", new { orderId = "O-5" })).ProblemErrorsAsync(409)).Keys);

        var run = await app.WithDbAsync(db => db.CampaignRuns.SingleAsync(r => r.CampaignId == id));
        var report = await (await app.Api.GetAsync($"/api/campaigns/{id}/runs/{run.Id}")).JsonAsync(200);
        Assert.Equal((3, 1), (report.GetProperty("couponsIssued").GetInt32(), report.GetProperty("couponsRedeemed").GetInt32()));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task MessagesTheServerRefusedGiveTheirCodesBackToThePool(DatabaseProvider store)
    {
        using var sink = await SmtpSink.StartAsync("-f", "RCPT");
        await using var app = await RetentionApp.StartAsync(store, sink.AppSettings());
        var id = await CampaignAsync(app, 8, new { codes = "pool", value = 5 });
        await (await app.Api.PostAsJsonAsync($"/api/campaigns/{id}/coupons", new { codes = Enumerable.Range(1, 10).Select(i => $"BACK-{i}") })).JsonAsync(200);
        var run = await RunAsync(app, id);
        Assert.Equal(8, await app.WithDbAsync(db => db.Deliveries.CountAsync(d => d.RunId == run.Id && d.Status == DeliveryStatuses.Failed)));
        var summary = await (await app.Api.GetAsync($"/api/campaigns/{id}/coupons")).JsonAsync(200);
        Assert.Equal((10, 0), (summary.GetProperty("available").GetInt32(), summary.GetProperty("issued").GetInt32()));
    }

    static List<OutboxMessage> Messages(RetentionApp app) => OutboxMessage.ReadAll(app.Outbox);
}
