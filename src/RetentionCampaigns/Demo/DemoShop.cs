using Bogus;
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

    /// <summary>Seeds an empty database and returns a fresh API key named "demo" either way.</summary>
    public async Task<string> SeedAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (!await db.Customers.AnyAsync(ct))
        {
            var started = DateTime.UtcNow;
            await SeedShopAsync(now, ct);
            log.LogInformation("Seeded the demo shop in {Seconds:F1} s", (DateTime.UtcNow - started).TotalSeconds);
        }
        return await ApiKeyService.CreateAsync(db, "demo", clock, ct);
    }

    async Task SeedShopAsync(DateTime now, CancellationToken ct)
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

        await using (var store = await ImportStore.OpenAsync(db, shop.Value, now, ct))
        {
            var chunk = new Chunk();
            foreach (var c in customers) chunk.AddCustomer(0, c.Customer);
            await store.MergeCustomersAsync(chunk, ct);

            var orderNumber = 100_000;
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
                    if (chunk.Rows >= CsvImporter.ChunkRows) { await store.MergeOrdersAsync(chunk, ct); chunk = new Chunk(); }
                }
            }
            await store.MergeOrdersAsync(chunk, ct);
        }

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
