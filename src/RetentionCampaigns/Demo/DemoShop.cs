using Bogus;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Surveys;

namespace RetentionCampaigns.Demo;

/// <summary>
/// A believable shop from a fixed seed: about 5,000 customers (German and English), 40,000 orders over three
/// years with one-off buyers, regulars and a few big spenders, survey answers that follow how customers buy,
/// a mix of consent states and an active referral program. The same seed and "now" give the same shop.
/// </summary>
public sealed class DemoShop(RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, ILogger<DemoShop> log)
{
    public const int Seed = 20_26_11;
    public const int CustomerCount = 5_000;

    static readonly (string Category, string[] Products, decimal MinPrice, decimal MaxPrice)[] Catalogue =
    [
        ("Kaffee", ["Espresso Bohnen 1 kg", "Filterkaffee Hausmischung", "Entkoffeiniert 500 g", "Single Origin Äthiopien"], 9.90m, 34.90m),
        ("Tee", ["Grüner Tee Sencha", "Earl Grey", "Kräutertee Winterzauber", "Rooibos Vanille"], 4.90m, 19.90m),
        ("Zubehör", ["Handmühle", "French Press", "Milchaufschäumer", "Thermobecher"], 12.90m, 89.00m),
        ("Maschinen", ["Siebträgermaschine", "Kaffeevollautomat", "Wasserkocher mit Temperaturwahl"], 89.00m, 899.00m),
        ("Süßes", ["Cantuccini", "Zartbitterschokolade", "Karamellwaffeln"], 2.90m, 12.90m),
        ("Geschenke", ["Geschenkbox Genießer", "Gutschein", "Probierset"], 19.90m, 79.90m),
    ];

    public const string KeyName = "demo";

    /// <param name="AlreadySeeded">The shop was there from an earlier start; nothing was seeded.</param>
    /// <param name="Key">The demo API key, new on every start: the one before it is revoked, so there is only ever one.</param>
    public sealed record Outcome(bool AlreadySeeded, string Key);

    /// <summary>
    /// Seeds an empty database, all or nothing: the seed is marked started before and completed after, and a start
    /// finding it started but not completed (the process was stopped half-way) removes the half and seeds again.
    /// A database holding a shop's own customers is never touched.
    /// </summary>
    public async Task<Outcome> SeedAsync(IProgress<string>? progress, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var seed = await db.DemoShop.FirstOrDefaultAsync(ct);
        var alreadySeeded = seed?.CompletedAt is not null;
        if (!alreadySeeded)
        {
            if (seed is null && await db.Customers.AnyAsync(ct))
            {
                // Seeded before seeds were marked: every such seed ended by creating the demo key.
                if (!await db.ApiKeys.AnyAsync(k => k.Name == KeyName, ct)) throw new DemoRefused(
                    "The database already holds customers of its own; the demo shop is seeded only into an empty database. Start without --demo, or point ConnectionStrings__Retention at another database.");
                db.DemoShop.Add(new DemoSeed { Id = 1, StartedAt = now, CompletedAt = now });
                await db.SaveChangesAsync(ct);
                alreadySeeded = true;
            }
            else if (seed is not null)
            {
                progress?.Report("The last demo seeding was interrupted; removing what it left and seeding again.");
                await RemovePartialSeedAsync(ct);
            }
            else db.DemoShop.Add(seed = new DemoSeed { Id = 1, StartedAt = now });
        }
        if (!alreadySeeded)
        {
            seed!.StartedAt = now;
            await db.SaveChangesAsync(ct);
            var started = DateTime.UtcNow;
            await SeedShopAsync(now, progress, ct);
            seed.CompletedAt = clock.GetUtcNow().UtcDateTime;
            db.DemoShop.Update(seed);
            await db.SaveChangesAsync(ct);
            log.LogInformation("Seeded the demo shop in {Seconds:F1} s", (DateTime.UtcNow - started).TotalSeconds);
        }
        await db.ApiKeys.Where(k => k.Name == KeyName && k.RevokedAt == null).ExecuteUpdateAsync(u => u.SetProperty(k => k.RevokedAt, now), ct);
        return new Outcome(alreadySeeded, await ApiKeyService.CreateAsync(db, KeyName, clock, ct));
    }

    /// <summary>Everything an interrupted seed may have written into what was an empty database, children first.</summary>
    async Task RemovePartialSeedAsync(CancellationToken ct)
    {
        await db.ConsentEvents.ExecuteDeleteAsync(ct);
        await db.SurveyAnswers.ExecuteDeleteAsync(ct);
        await db.OrderLines.ExecuteDeleteAsync(ct);
        await db.Orders.ExecuteDeleteAsync(ct);
        await db.CustomerMetrics.ExecuteDeleteAsync(ct);
        await db.ReferralPrograms.ExecuteDeleteAsync(ct);
        await db.Customers.ExecuteDeleteAsync(ct);
    }

    async Task SeedShopAsync(DateTime now, IProgress<string>? progress, CancellationToken ct)
    {
        var random = new Randomizer(Seed);
        var german = new Faker("de") { Random = random };
        var english = new Faker("en") { Random = random };
        var start = now.AddYears(-3);
        var customers = new List<(ValidCustomer Customer, int Kind, DateTime ActiveFrom, DateTime ActiveUntil)>();
        for (var i = 1; i <= CustomerCount; i++)
        {
            var isGerman = random.Double() < 0.65;
            var faker = isGerman ? german : english;
            var country = isGerman ? random.WeightedRandom(["DE", "AT", "CH"], [0.8f, 0.12f, 0.08f])
                                   : random.WeightedRandom(["GB", "IE", "NL", "US"], [0.5f, 0.1f, 0.2f, 0.2f]);
            var first = random.Double() < 0.04 ? null : faker.Name.FirstName();
            var last = faker.Name.LastName();
            var signedUp = start.AddMinutes(random.Double() * (now - start).TotalMinutes * 0.95);
            // 0 one-off, 1 occasional, 2 regular, 3 big spender
            var kind = random.WeightedRandom([0, 1, 2, 3], [0.35f, 0.40f, 0.20f, 0.05f]);
            var activeDays = (now - signedUp).TotalDays * (random.Double() < 0.45 ? random.Double(0.1, 0.7) : 1.0);
            var email = $"{Slug(first ?? faker.Name.FirstName())}.{Slug(last)}{i}@{(isGerman ? "beispiel.de" : "example.com")}";
            var zone = country switch { "GB" => "Europe/London", "IE" => "Europe/Dublin", "NL" => "Europe/Amsterdam", "US" => "America/New_York", "AT" => "Europe/Vienna", "CH" => "Europe/Zurich", _ => "Europe/Berlin" };
            List<string> tags = random.Double() < 0.15 ? ["newsletter-signup"] : [];
            if (kind == 3) tags.Add("vip");
            customers.Add((new ValidCustomer($"C{i:D5}", email, first, last, isGerman ? "de" : "en", zone, country, signedUp, tags, null),
                kind, signedUp, signedUp.AddDays(activeDays)));
        }

        var orderNumber = 100_000;
        await using (var store = await ImportStore.OpenAsync(db, shop.Value, now, ct))
        {
            var chunk = new Chunk();
            foreach (var c in customers) chunk.AddCustomer(0, c.Customer);
            await store.MergeCustomersAsync(chunk, ct);
            progress?.Report($"Seeding the demo shop: {customers.Count:N0} customers");

            chunk = new Chunk();
            foreach (var (customer, kind, from, until) in customers)
            {
                var count = kind switch { 0 => 1, 1 => random.Int(2, 8), 2 => random.Int(8, 25), _ => random.Int(25, 60) };
                if (kind == 0 && random.Double() < 0.12) count = 0; // signed up, never bought
                for (var n = 0; n < count; n++)
                {
                    var at = from.AddMinutes(random.Double() * Math.Max((until - from).TotalMinutes, 60));
                    var lines = new List<ValidOrderLine>();
                    foreach (var (category, products, min, max) in random.ListItems(Catalogue, random.WeightedRandom([1, 2, 3], [0.6f, 0.3f, 0.1f])))
                    {
                        var price = Math.Round(min + (max - min) * (decimal)Math.Pow(random.Double(), 2.5), 2);
                        var product = random.Int(0, products.Length - 1);
                        lines.Add(new ValidOrderLine($"SKU-{category[..3].ToUpperInvariant()}-{product + 1:D2}",
                            products[product], category, random.WeightedRandom([1, 2, 3], [0.75f, 0.2f, 0.05f]), (long)(price * 100)));
                    }
                    lines = lines.DistinctBy(l => l.Sku).ToList();
                    var amount = lines.Sum(l => l.Quantity * l.UnitPriceMinor!.Value) + (random.Double() < 0.7 ? 490 : 0);
                    var refunded = random.Double() < 0.04 ? amount : random.Double() < 0.04 ? amount / 3 : 0;
                    chunk.AddOrder(0, new ValidOrder($"O{orderNumber++}", customer.ExternalId, at, amount, refunded, shop.Value.Currency, lines));
                    if (chunk.Rows >= CsvImporter.ChunkRows)
                    {
                        await store.MergeOrdersAsync(chunk, ct);
                        chunk = new Chunk();
                        progress?.Report($"Seeding the demo shop: {orderNumber - 100_000:N0} orders");
                    }
                }
            }
            await store.MergeOrdersAsync(chunk, ct);
        }

        progress?.Report($"Seeding the demo shop: {orderNumber - 100_000:N0} orders; survey answers and consent");
        var ids = await db.Customers.AsNoTracking().ToDictionaryAsync(c => c.ExternalId, c => c.Id, ct);
        foreach (var (customer, kind, from, until) in customers)
        {
            var id = ids[customer.ExternalId];
            if (random.Double() < 0.45)
            {
                var happy = kind switch { 0 => 5.5, 1 => 7.0, 2 => 8.3, _ => 9.0 } + (until < now.AddDays(-200) ? -2.0 : 0);
                var answers = random.Int(1, 2);
                for (var a = 0; a < answers; a++)
                {
                    int Score(double mean, int min, int max) => (int)Math.Clamp(Math.Round(mean + random.Double(-2.5, 2.5)), min, max);
                    var answeredAt = from.AddMinutes(random.Double() * Math.Max((now - from).TotalMinutes, 60));
                    db.SurveyAnswers.Add(new SurveyAnswer
                    {
                        CustomerId = id, AnsweredAt = answeredAt, Nps = Score(happy, 0, 10),
                        Csat = random.Double() < 0.7 ? Score(happy / 2, 1, 5) : null, Ces = random.Double() < 0.5 ? Score(happy * 0.7, 1, 7) : null,
                        BuyAgain = random.Double() < 0.4 ? Score(happy, 1, 10) : null, TryNewProducts = random.Double() < 0.4 ? Score(happy - 1, 1, 10) : null,
                        Recommend = random.Double() < 0.4 ? Score(happy, 1, 10) : null,
                        Comment = happy < 5 && random.Double() < 0.3 ? (customer.Locale == "de" ? "Lieferung kam zu spät." : "Delivery took too long.") : null,
                        CreatedAt = now,
                    });
                }
            }
            var roll = random.Double();
            if (roll < 0.75)
            {
                var doubleOptIn = roll < 0.5;
                var grantedAt = from.AddMinutes(random.Double() * 60 * 24);
                AddConsent(id, "email_marketing", "granted", doubleOptIn ? "consent" : "existing_customer", doubleOptIn ? "form" : "import", grantedAt, now, random);
                if (random.Double() < 0.12)
                    AddConsent(id, "email_marketing", "withdrawn", doubleOptIn ? "consent" : "existing_customer", "unsubscribe_link",
                        grantedAt.AddDays(random.Double(1, Math.Max((now - grantedAt).TotalDays, 2))), now, random);
                if (random.Double() < 0.55) AddConsent(id, "tracking", "granted", "consent", "form", grantedAt, now, random);
                if (kind >= 2 && random.Double() < 0.4) AddConsent(id, "referral_program", "granted", "consent", "preference_page", grantedAt.AddDays(3), now, random);
            }
        }
        // A referral program, so invitation previews and /r/ links work at once.
        db.ReferralPrograms.Add(new ReferralProgram
        {
            Name = "Freunde werben Freunde", Active = true,
            FriendOffer = new CampaignOffer { Codes = "generated", Prefix = "FREUND", Value = 10m, MinimumOrder = 40m, ValidDays = 60 },
            ReferrerReward = new CampaignOffer { Codes = "generated", Prefix = "DANKE", Value = 15m, ValidDays = 90 },
            QualifyingMinimumMinor = 3000, ReviewDays = 14, MaxRewardsPerReferrer = 5, RewardPeriodDays = 365, CreatedAt = now, UpdatedAt = now,
        });
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }

    void AddConsent(long customerId, string purpose, string status, string basis, string source, DateTime at, DateTime now, Randomizer random) =>
        db.ConsentEvents.Add(new ConsentEvent
        {
            CustomerId = customerId, Purpose = purpose, Status = status, LawfulBasis = basis, Source = source,
            OccurredAt = at > now ? now : at, IpAddress = $"192.0.2.{random.Int(1, 254)}", UserAgent = "Mozilla/5.0 (demo)",
            ConsentTextVersion = "2024-01", RecordedAt = now,
        });

    static string Slug(string name) => new(name.ToLowerInvariant()
        .Replace("ä", "ae").Replace("ö", "oe").Replace("ü", "ue").Replace("ß", "ss").Where(char.IsAsciiLetterLower).ToArray());
}

/// <summary>The demo shop cannot be seeded into this database; the message says why and what to do.</summary>
public sealed class DemoRefused(string message) : Exception(message);

/// <summary>The one row saying whether the demo shop's seeding started and completed.</summary>
public sealed class DemoSeed
{
    public int Id { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}

/// <summary>What a newcomer needs after <c>--demo</c>: where the app is, the sign-in and the key to its API, set apart from the log.</summary>
public static class DemoBanner
{
    public static void Print(IServer server, string key, string email, string password)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var rule = new string('=', 72);
        Console.WriteLine();
        Console.WriteLine(rule);
        Console.WriteLine($"The demo shop is ready at {addresses.FirstOrDefault() ?? "(no address)"}");
        Console.WriteLine($"Demo sign-in: {email} / {password}");
        Console.WriteLine($"Demo API key: {key}");
        Console.WriteLine("Try it: curl -H \"Authorization: Bearer <key>\" <address>/api/kpis");
        Console.WriteLine(rule);
        Console.WriteLine();
    }
}
