using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Demo;

namespace RetentionCampaigns.Tests.Demo;

public sealed class DemoShopTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task TheDemoShopIsARealisticShopAndItsKeyWorks(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var key = (await app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(null, default))).Key;

        var shape = await app.WithDbAsync(async db => new
        {
            Customers = await db.Customers.CountAsync(),
            German = await db.Customers.CountAsync(c => c.Locale == "de"),
            Orders = await db.Orders.CountAsync(),
            FirstOrder = await db.Orders.MinAsync(o => o.OrderedAt),
            Answers = await db.SurveyAnswers.CountAsync(),
            Detractors = await db.SurveyAnswers.CountAsync(a => a.Nps <= 6),
            Promoters = await db.SurveyAnswers.CountAsync(a => a.Nps >= 9),
            Withdrawn = await db.ConsentEvents.CountAsync(e => e.Status == "withdrawn"),
            WithConsent = await db.ConsentEvents.Select(e => e.CustomerId).Distinct().CountAsync(),
            Revenue = await db.Orders.SumAsync(o => o.AmountMinor),
        });
        Assert.Equal(DemoShop.CustomerCount, shape.Customers);
        Assert.InRange(shape.German, 2_800, 3_700);
        Assert.InRange(shape.Orders, 35_000, 45_000);
        Assert.True(shape.FirstOrder < DateTime.UtcNow.AddYears(-2).AddMonths(-6));
        Assert.InRange(shape.Answers, 1_500, 4_000);
        Assert.True(shape.Detractors > 100 && shape.Promoters > 100);
        Assert.True(shape.Withdrawn > 50);
        Assert.InRange(shape.WithConsent, 3_000, 4_500);

        // Seeding again adds nothing and gives a fresh key in place of the last one.
        var second = await app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(null, default));
        Assert.True(second.AlreadySeeded);
        Assert.NotEqual(key, second.Key);
        key = second.Key;
        Assert.Equal(shape.Revenue, await app.WithDbAsync(db => db.Orders.SumAsync(o => o.AmountMinor)));

        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var customer = await (await client.GetAsync("/api/customers/C00001")).JsonAsync(200);
        Assert.False(string.IsNullOrEmpty(customer.GetProperty("customer").GetProperty("email").GetString()));

        // A referral program is active, so a promoter's invitation carries a working link.
        var programs = await (await client.GetAsync("/api/referral-programs")).JsonAsync(200);
        Assert.Single(programs.EnumerateArray(), p => p.GetProperty("active").GetBoolean());
        var promoter = await app.WithDbAsync(db => db.SurveyAnswers.Where(a => a.Nps == 10).Select(a => db.Customers.First(c => c.Id == a.CustomerId).ExternalId).FirstAsync());
        var invitation = await (await client.PostAsJsonAsync("/api/templates/referral-invitation/preview", new { customerId = promoter })).JsonAsync(200);
        var link = System.Text.RegularExpressions.Regex.Match(invitation.GetProperty("html").GetString()!, "http://[^\"]+/r/[0-9A-Z]{16}").Value;
        Assert.Equal(200, (int)(await app.CreateClient().GetAsync(new Uri(link).PathAndQuery)).StatusCode);
    }

    [Fact]
    public async Task TheSameSeedGivesTheSameShop()
    {
        long[] revenue = new long[2];
        for (var i = 0; i < 2; i++)
        {
            await using var app = await RetentionApp.StartAsync(DatabaseProvider.Sqlite);
            await app.ServiceAsync<DemoShop, DemoShop.Outcome>(demo => demo.SeedAsync(null, default));
            revenue[i] = await app.WithDbAsync(db => db.Orders.SumAsync(o => o.AmountMinor));
        }
        Assert.Equal(revenue[0], revenue[1]);
    }
}
