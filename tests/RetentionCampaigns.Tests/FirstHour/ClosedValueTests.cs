using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 6: misspelt values of fields with a closed set selected nobody, silently.</summary>
public sealed class ClosedValueTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task MisspeltValuesOfClosedFieldsAreRefusedWithTheAllowedOnesAndCaseIsForgivenWhereTheDataAllowsIt(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var customers = Enumerable.Range(1, 6).Select(i => new { externalId = $"K{i}", email = $"k{i}@example.com", country = i <= 4 ? "DE" : "AT" }).ToArray();
        await (await app.Api.PostAsJsonAsync("/api/customers/batch", new { customers })).JsonAsync(200);
        await (await app.Api.PostAsJsonAsync("/api/metrics/refresh", new { })).JsonAsync(200);

        async Task<Dictionary<string, string[]>> Refused(object rule) =>
            await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule })).ProblemErrorsAsync(422);

        var champs = await Refused(new { field = "rfm_group", op = "=", value = "Champs" });
        Assert.Contains("Champions", champs["rule.value"].Single());
        Assert.Contains("Can't lose them", champs["rule.value"].Single());
        var both = await Refused(new { all = new object[]
        {
            new { field = "nps_category", op = "in", value = new[] { "promoter", "fan" } },
            new { field = "consent.email_marketing", op = "=", value = "yes" },
            new { field = "country", op = "=", value = "Germany" },
        } });
        Assert.Equal(["rule.all[0].value[1]", "rule.all[1].value", "rule.all[2].value"], both.Keys.Order());
        Assert.Contains("promoter, passive, detractor, unknown", both["rule.all[0].value[1]"].Single());
        // A segment is not saved with such a value either.
        await (await app.Api.PostAsJsonAsync("/api/segments", new { name = "Champs", rule = new { field = "rfm_group", op = "=", value = "Champs" } })).ProblemErrorsAsync(422);

        // Where only the case differs, the value means what the data holds.
        var german = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule = new { field = "country", op = "=", value = "de" } })).JsonAsync(200);
        Assert.Equal(4, german.GetProperty("count").GetInt32());
        var unknown = await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule = new { field = "nps_category", op = "=", value = "Unknown" } })).JsonAsync(200);
        Assert.Equal(6, unknown.GetProperty("count").GetInt32());
        // "contains" looks for a part of the text and stays free.
        await (await app.Api.PostAsJsonAsync("/api/segments/preview", new { rule = new { field = "rfm_group", op = "contains", value = "Champ" } })).JsonAsync(200);
    }
}
