using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RetentionCampaigns.Bounces;
using RetentionCampaigns.Data;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Tests.Campaigns;

namespace RetentionCampaigns.Tests.Bounces;

/// <summary>
/// The bounce mailbox: reports in real providers' formats (Postfix, Gmail, Exchange Online, Exim, an ARF feedback
/// loop) land on the delivery they are about with the right effect; an out-of-office reply and a forged complaint are
/// kept and counted, never acted on; and a real Postfix bounce reaches its delivery through a real IMAP server.
/// </summary>
public sealed class BounceTests
{
    static readonly string Reports = Path.Combine(AppContext.BaseDirectory, "Bounces", "reports");

    /// <summary>A report file with the delivery's details filled in, CRLF line ends as on the wire.</summary>
    static byte[] Report(string file, string verp, string recipient, string messageId, string delivery, string? originalMailFrom = null) =>
        System.Text.Encoding.UTF8.GetBytes(File.ReadAllText(Path.Combine(Reports, file))
            .Replace("{{VERP}}", verp).Replace("{{RECIPIENT}}", recipient).Replace("{{LOCAL}}", recipient.Split('@')[0])
            .Replace("{{MESSAGE_ID}}", messageId).Replace("{{DELIVERY}}", delivery).Replace("{{ORIGINAL_MAIL_FROM}}", originalMailFrom ?? verp)
            .Replace("{{SALT}}", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))).Replace("\r\n", "\n").Replace("\n", "\r\n"));

    [Theory, ClassData(typeof(BothStores))]
    public async Task ReportsInRealProvidersFormatsLandOnTheirDeliveriesWithTheRightEffect(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string> { ["Mail:Bounces:Domain"] = "bounces.shop.example" });
        var ids = Enumerable.Range(1, 7).Select(i => $"B{i}").ToList();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers = ids.Select(id => new { externalId = id, email = $"{id.ToLowerInvariant()}@provider.example" }) })).JsonAsync(200);
        await CampaignTestKit.GrantMarketingAsync(app, ids);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "All", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "Bounced");
        var runId = ledger.Values.First().RunId;
        var campaignId = await app.WithDbAsync(db => db.CampaignRuns.Where(r => r.Id == runId).Select(r => r.CampaignId).SingleAsync());
        Assert.All(ledger.Values, d => Assert.Equal("sent", d.Status));

        var sent = OutboxMessage.ReadAll(app.Outbox).ToDictionary(m => m.To.Single());
        byte[] For(string file, string id, string? originalMailFrom = null)
        {
            var delivery = ledger[id];
            var verp = app.Services.GetRequiredService<ReturnPaths>().For(delivery.RunId, delivery.CustomerId)!.Address;
            var recipient = $"{id.ToLowerInvariant()}@provider.example";
            Assert.Equal($"{delivery.RunId}-{delivery.CustomerId}", sent[recipient].Delivery);
            return Report(file, verp, recipient, delivery.MessageId!, sent[recipient].Delivery, originalMailFrom);
        }
        var feed = new (string File, byte[] Bytes)[]
        {
            ("postfix-unknown-user.eml", For("postfix-unknown-user.eml", "B1")),
            ("gmail-no-such-user.eml", For("gmail-no-such-user.eml", "B2")),
            ("exchange-recipient-not-found.eml", For("exchange-recipient-not-found.eml", "B3")),
            ("exim-mailbox-full.eml", For("exim-mailbox-full.eml", "B4")),
            ("exim-mailbox-full.eml again", For("exim-mailbox-full.eml", "B4")),
            // A feedback loop reports to its own address and quotes the message: its delivery header and Message-ID tie it.
            ("arf-abuse-complaint.eml", For("arf-abuse-complaint.eml", "B5", originalMailFrom: "shop@example.com")),
            // A forged complaint naming B6's delivery without the Message-ID only B6 saw: kept, not acted on.
            ("forged complaint", Report("arf-abuse-complaint.eml", "someone@else.example", "b6@provider.example", "made-up@shop.example",
                $"{ledger["B6"].RunId}-{ledger["B6"].CustomerId}", "someone@else.example")),
            ("out-of-office.eml", For("out-of-office.eml", "B7")),
        };
        var recorded = new Dictionary<string, Bounce>();
        foreach (var (name, bytes) in feed)
        {
            var (isNew, bounce) = await app.ServiceAsync<BounceInbox, (bool, Bounce)>(inbox => inbox.RecordAsync(bytes, CancellationToken.None));
            Assert.True(isNew, name);
            recorded[name] = bounce;
        }
        // The same message read again (after a crash before it left the mailbox) is recognised.
        Assert.False((await app.ServiceAsync<BounceInbox, (bool, Bounce)>(inbox => inbox.RecordAsync(feed[0].Bytes, CancellationToken.None))).Item1);

        Assert.Equal(("hard", ledger["B1"].CustomerId), (recorded["postfix-unknown-user.eml"].Kind, recorded["postfix-unknown-user.eml"].CustomerId));
        Assert.Equal(("hard", ledger["B2"].CustomerId), (recorded["gmail-no-such-user.eml"].Kind, recorded["gmail-no-such-user.eml"].CustomerId));
        Assert.Equal(("hard", ledger["B3"].CustomerId), (recorded["exchange-recipient-not-found.eml"].Kind, recorded["exchange-recipient-not-found.eml"].CustomerId));
        Assert.Equal("5.1.10", recorded["exchange-recipient-not-found.eml"].Status);
        Assert.Equal(("soft", ledger["B4"].CustomerId), (recorded["exim-mailbox-full.eml"].Kind, recorded["exim-mailbox-full.eml"].CustomerId));
        Assert.Equal(("complaint", ledger["B5"].CustomerId), (recorded["arf-abuse-complaint.eml"].Kind, recorded["arf-abuse-complaint.eml"].CustomerId));
        Assert.Equal(("complaint", (long?)null), (recorded["forged complaint"].Kind, recorded["forged complaint"].CustomerId));
        // An out-of-office reply came back to B7's return path: tied to B7, but not a report, so kept for a person.
        Assert.Equal(("unparseable", ledger["B7"].CustomerId), (recorded["out-of-office.eml"].Kind, recorded["out-of-office.eml"].CustomerId));
        Assert.Null(recorded["postfix-unknown-user.eml"].Raw); // tied to its delivery: its bytes are not kept
        Assert.NotNull(recorded["forged complaint"].Raw);
        Assert.NotNull(recorded["out-of-office.eml"].Raw);

        async Task<string?> Suppressed(string id) => await app.WithDbAsync(async db =>
        {
            var hash = app.Services.GetRequiredService<SuppressionList>().Hash($"{id.ToLowerInvariant()}@provider.example");
            return await db.Suppressions.Where(s => s.AddressHash == hash).Select(s => s.Reason).FirstOrDefaultAsync();
        });
        Assert.Equal(SuppressionReasons.HardBounce, await Suppressed("B1"));
        Assert.Equal(SuppressionReasons.HardBounce, await Suppressed("B2"));
        Assert.Equal(SuppressionReasons.HardBounce, await Suppressed("B3"));
        Assert.Null(await Suppressed("B4")); // a full mailbox is counted, not suppressed
        Assert.Equal(SuppressionReasons.Complaint, await Suppressed("B5"));
        Assert.Null(await Suppressed("B6"));
        Assert.Null(await Suppressed("B7"));
        var consent = (await (await app.Api.GetAsync("/api/consents/B5")).JsonAsync(200)).ToString();
        Assert.Contains("\"complaint\"", consent); // withdrawn, with the complaint as its source
        Assert.DoesNotContain("\"complaint\"", (await (await app.Api.GetAsync("/api/consents/B6")).JsonAsync(200)).ToString());

        var report = await (await app.Api.GetAsync($"/api/campaigns/{campaignId}/runs/{runId}")).JsonAsync(200);
        Assert.Equal(3, report.GetProperty("bounces").GetProperty("hard").GetInt32());
        Assert.Equal(2, report.GetProperty("bounces").GetProperty("soft").GetInt32());
        Assert.Equal(1, report.GetProperty("bounces").GetProperty("complaints").GetInt32());
        var rows = (await (await app.Api.GetAsync($"/api/campaigns/{campaignId}/runs/{runId}/deliveries")).JsonAsync(200)).GetProperty("items").EnumerateArray()
            .ToDictionary(r => r.GetProperty("customerId").GetString()!);
        Assert.Equal(2, rows["B4"].GetProperty("bounces").GetInt32());
        Assert.StartsWith("soft: delivery status: failed 5.2.2", rows["B4"].GetProperty("bounce").GetString());
        Assert.StartsWith("hard: delivery status: failed 5.1.1", rows["B1"].GetProperty("bounce").GetString());
        Assert.Equal(0, rows["B6"].GetProperty("bounces").GetInt32());
        var why = await (await app.Api.GetAsync($"/api/campaigns/{campaignId}/runs/{runId}/why/B5")).JsonAsync(200);
        Assert.Equal("complaint", why.GetProperty("bounces")[0].GetProperty("kind").GetString());

        var unmatched = await (await app.Api.GetAsync("/api/bounces?unmatched=true")).JsonAsync(200);
        Assert.Equal(1, unmatched.GetProperty("unmatched").GetInt32());
        Assert.Equal("complaint", unmatched.GetProperty("items").EnumerateArray().Single().GetProperty("kind").GetString());
        var kept = await (await app.Api.GetAsync("/api/bounces?kind=unparseable")).JsonAsync(200);
        Assert.Equal(1, kept.GetProperty("counts").GetProperty("unparseable").GetInt32());
        var outOfOffice = kept.GetProperty("items").EnumerateArray().Single();
        Assert.True(outOfOffice.GetProperty("kept").GetBoolean());
        Assert.Equal("B7", outOfOffice.GetProperty("customerId").GetString());
        var keptBytes = await (await app.Api.GetAsync($"/api/bounces/{outOfOffice.GetProperty("id").GetInt64()}/message")).Content.ReadAsByteArrayAsync();
        Assert.Equal(feed[^1].Bytes, keptBytes);
        var problem = await (await app.Api.GetAsync("/api/bounces?kind=bounced")).JsonAsync(400);
        Assert.Contains("kind", problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    /// <summary>Debian's self-signed certificate, which both Postfix and Dovecot use here, trusted by its fingerprint.</summary>
    static string SnakeoilSha256()
    {
        var text = File.ReadAllText("/etc/ssl/certs/ssl-cert-snakeoil.pem");
        var pem = System.Security.Cryptography.PemEncoding.Find(text);
        return Convert.ToHexString(SHA256.HashData(Convert.FromBase64String(text[pem.Base64Data])));
    }

    [Theory, ClassData(typeof(BothStores))]
    public Task ARealPostfixBounceReachesItsDeliveryThroughTheImapMailbox(DatabaseProvider store) => RealPostfixBounceAsync(store, "Imap", 143);

    [Fact]
    public Task ARealPostfixBounceReachesItsDeliveryThroughThePop3Mailbox() => RealPostfixBounceAsync(DatabaseProvider.Postgres, "Pop3", 110);

    /// <summary>One reader at a time: the tests share the one test mailbox (and the poll would take the other's bounce).</summary>
    static readonly SemaphoreSlim Mailbox = new(1, 1);

    static async Task RealPostfixBounceAsync(DatabaseProvider store, string protocol, int port)
    {
        await Mailbox.WaitAsync();
        try { await RealPostfixBounceInMailboxAsync(store, protocol, port); }
        finally { Mailbox.Release(); }
    }

    static async Task RealPostfixBounceInMailboxAsync(DatabaseProvider store, string protocol, int port)
    {
        var fingerprint = SnakeoilSha256();
        var settings = new Dictionary<string, string>
        {
            ["Mail:Transport"] = "Smtp", ["Mail:Smtp:Host"] = "127.0.0.1", ["Mail:Smtp:Port"] = "25", ["Mail:Smtp:Security"] = "StartTls",
            ["Mail:Smtp:TrustedCertificateSha256"] = fingerprint, ["Mail:Smtp:ClientName"] = "rc-test.localdomain",
            ["Mail:Bounces:Domain"] = "localhost.localdomain", ["Mail:Bounces:LocalPart"] = "rcbounce",
            ["Mail:Bounces:Mailbox:Protocol"] = protocol,
            ["Mail:Bounces:Mailbox:Host"] = "127.0.0.1", ["Mail:Bounces:Mailbox:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mail:Bounces:Mailbox:Security"] = "StartTls",
            ["Mail:Bounces:Mailbox:TrustedCertificateSha256"] = fingerprint, ["Mail:Bounces:Mailbox:UserName"] = "rcbounce",
            ["Mail:Bounces:Mailbox:Password"] = Environment.GetEnvironmentVariable("RC_TEST_IMAP_PASSWORD") ?? "rcbounce-secret",
        };
        await using var app = await RetentionApp.StartAsync(store, settings);
        // Postfix takes any local recipient (tests/run.sh) and bounces one without a mailbox to the return path.
        var nobody = $"nobody-{Guid.NewGuid():N}"[..20] + "@localhost.localdomain";
        await (await app.Api.PutAsJsonAsync("/api/customers/N1", new { email = nobody })).JsonAsync(201);
        await CampaignTestKit.GrantMarketingAsync(app, ["N1"]);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);
        var segment = await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "N", rule = new { field = "order_count", op = ">=", value = 0 } })).JsonAsync(201);
        var ledger = await CampaignTestKit.SendOneOffAsync(app, segment.GetProperty("id").GetInt64(), "To nobody");
        Assert.True(ledger["N1"].Status == "sent", $"{ledger["N1"].Status}: {ledger["N1"].Reason} {ledger["N1"].Reply}");

        var watch = Stopwatch.StartNew();
        Bounce? bounce = null;
        while (watch.Elapsed < TimeSpan.FromSeconds(45) && bounce is null)
        {
            await Task.Delay(500);
            var read = await app.Api.PostAsync("/api/bounces/read", null);
            Assert.True(read.IsSuccessStatusCode, await read.Content.ReadAsStringAsync());
            bounce = await app.WithDbAsync(db => db.Bounces.AsNoTracking().FirstOrDefaultAsync(b => b.RunId == ledger["N1"].RunId && b.CustomerId == ledger["N1"].CustomerId));
        }
        Assert.NotNull(bounce);
        Assert.Equal("hard", bounce.Kind);
        Assert.Equal("5.1.1", bounce.Status);
        Assert.True(await app.WithDbAsync(db => app.Services.GetRequiredService<SuppressionList>().ContainsAsync(db, nobody, CancellationToken.None)));
    }
}
