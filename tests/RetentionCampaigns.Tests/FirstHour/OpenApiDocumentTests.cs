using System.Text.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 14: the OpenAPI document called every field required, declared no auth, had no enums and no examples.</summary>
public sealed class OpenApiDocumentTests
{
    [Fact]
    public async Task TheDocumentDeclaresBearerOptionalFieldsEnumsAndAnExamplePerCreateRequest()
    {
        await using var app = await RetentionApp.StartAsync(DatabaseProvider.Sqlite);
        using var anonymous = app.CreateClient();
        var document = await (await anonymous.GetAsync("/openapi/v1.json")).JsonAsync(200);
        var schemas = document.GetProperty("components").GetProperty("schemas");

        var bearer = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal(("http", "bearer"), (bearer.GetProperty("type").GetString(), bearer.GetProperty("scheme").GetString()));
        var listCustomers = document.GetProperty("paths").GetProperty("/api/customers").GetProperty("get");
        Assert.Contains(listCustomers.GetProperty("security").EnumerateArray(), r => r.TryGetProperty("Bearer", out _));

        foreach (var input in new[] { "CampaignInput", "ScheduleInput", "CampaignPolicy" })
            Assert.False(schemas.GetProperty(input).TryGetProperty("required", out var required) && required.GetArrayLength() > 0, $"{input} marks fields required");

        static string[] EnumOf(JsonElement property) => property.GetProperty("enum").EnumerateArray().Select(v => v.GetString()!).ToArray();
        Assert.Equal(["once", "cron"], EnumOf(schemas.GetProperty("ScheduleInput").GetProperty("properties").GetProperty("kind")));
        Assert.Equal(["defer", "skip"], EnumOf(schemas.GetProperty("CampaignPolicy").GetProperty("properties").GetProperty("onCap")));

        foreach (var (path, field) in new[] { ("/api/campaigns", "templateKey"), ("/api/segments", "rule"), ("/api/templates", "content") })
        {
            var example = document.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody")
                .GetProperty("content").GetProperty("application/json").GetProperty("example");
            Assert.True(example.TryGetProperty(field, out _), $"{path}: {example}");
        }
    }
}
