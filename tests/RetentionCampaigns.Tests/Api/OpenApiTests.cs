using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Api;

public sealed class OpenApiTests
{
    [Fact]
    public async Task TheOpenApiDocumentListsTheIngestEndpoints()
    {
        await using var app = await RetentionApp.StartAsync(DatabaseProvider.Sqlite);
        using var anonymous = app.CreateClient();
        var document = await (await anonymous.GetAsync("/openapi/v1.json")).JsonAsync(200);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var path in new[] { "/api/customers/batch", "/api/customers/{externalId}", "/api/orders/batch", "/api/survey-answers",
                     "/api/consents", "/api/imports/{kind}" })
            Assert.Contains(path, paths);
    }
}
