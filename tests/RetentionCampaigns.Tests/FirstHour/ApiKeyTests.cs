using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 16: API keys could be created but not listed or revoked.</summary>
public sealed class ApiKeyTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task KeysAreListedWithTheirLastUseAndARevokedKeyStopsAtOnce(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var created = await (await app.Api.PostAsJsonAsync("/api/api-keys", new { name = "shop-sync" })).JsonAsync(201);
        var key = created.GetProperty("key").GetString()!;
        using var sync = app.CreateClient();
        sync.DefaultRequestHeaders.Authorization = new("Bearer", key);
        await (await sync.GetAsync("/api/customers")).JsonAsync(200);

        var keys = (await (await app.Api.GetAsync("/api/api-keys")).JsonAsync(200)).EnumerateArray().ToList();
        var listed = Assert.Single(keys, k => k.GetProperty("name").GetString() == "shop-sync");
        Assert.StartsWith(listed.GetProperty("prefix").GetString()!, key);
        Assert.InRange(listed.GetProperty("lastUsedAt").GetDateTime(), DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        Assert.DoesNotContain(key, keys.Select(k => k.ToString()));

        Assert.Equal(204, (int)(await app.Api.DeleteAsync($"/api/api-keys/{listed.GetProperty("prefix").GetString()}")).StatusCode);
        Assert.Equal(401, (int)(await sync.GetAsync("/api/customers")).StatusCode);
        await (await app.Api.DeleteAsync($"/api/api-keys/{listed.GetProperty("id").GetInt64()}")).ProblemErrorsAsync(404);
        await (await app.Api.PostAsJsonAsync("/api/api-keys", new { })).ProblemErrorsAsync(400);
    }
}
