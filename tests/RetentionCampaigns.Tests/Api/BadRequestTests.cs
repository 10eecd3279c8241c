using System.Net.Http.Json;
using System.Text;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Api;

/// <summary>Requests the endpoints cannot bind are answered with problem details, never a 500.</summary>
public sealed class BadRequestTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task WrongContentTypesAndMalformedQueriesAreProblems(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var plain = await app.Api.PostAsync("/api/customers/batch", new StringContent("""{"customers": []}""", Encoding.UTF8, "text/plain"));
        await plain.ProblemErrorsAsync(415);
        var badLimit = await app.Api.GetAsync("/api/customers?limit=many");
        await badLimit.ProblemErrorsAsync(400);
        var emptyBatch = await app.Api.PostAsJsonAsync("/api/orders/batch", new { });
        Assert.Contains("orders", (await emptyBatch.ProblemErrorsAsync(400)).Keys);
        var nullItem = await app.Api.PostAsync("/api/survey-answers/batch", new StringContent("""{"answers": [null]}""", Encoding.UTF8, "application/json"));
        Assert.Contains("answers[0]", (await nullItem.ProblemErrorsAsync(400)).Keys);
        await (await app.Api.GetAsync("/api/imports/999")).ProblemErrorsAsync(404);
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task AnImportReportCanBeReadBackById(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var upload = await app.Api.PostAsync("/api/imports/customers", new StringContent("external_id,email,color\nC1,a@beispiel.de,blue\nC2,,red\n", Encoding.UTF8, "text/csv"));
        var report = await upload.JsonAsync(201);
        var location = upload.Headers.Location!.OriginalString;
        var read = await (await app.Api.GetAsync(location)).JsonAsync(200);
        Assert.Equal(report.GetProperty("id").GetInt64(), read.GetProperty("id").GetInt64());
        Assert.Equal(1, read.GetProperty("rowsRejected").GetInt32());
        Assert.Equal(["color"], read.GetProperty("ignoredColumns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(3, read.GetProperty("errors")[0].GetProperty("line").GetInt32());
    }
}
