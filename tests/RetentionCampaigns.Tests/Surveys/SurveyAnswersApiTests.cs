using System.Net.Http.Json;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Surveys;

public sealed class SurveyAnswersApiTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAnswerIsRecordedOnceAndShownWithTheCustomer(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "a@beispiel.de" })).JsonAsync(201);
        var answer = new { customerId = "C1", answeredAt = "2025-05-05T08:00:00Z", nps = 9, csat = 5, ces = 6, buyAgain = 10, tryNewProducts = 7, recommend = 9, comment = "Schnelle Lieferung, gerne wieder!" };
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", answer)).JsonAsync(201);
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", answer)).JsonAsync(200);
        var batch = await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers = new[] { answer, answer with { answeredAt = "2025-06-05T08:00:00Z", nps = 3 } } })).JsonAsync(200);
        Assert.Equal((1, 1), (batch.GetProperty("created").GetInt32(), batch.GetProperty("unchanged").GetInt32()));

        var customer = await (await app.Api.GetAsync("/api/customers/C1")).JsonAsync(200);
        var answers = customer.GetProperty("surveyAnswers");
        Assert.Equal(2, answers.GetArrayLength());
        Assert.Equal(3, answers[0].GetProperty("nps").GetInt32()); // newest first
        Assert.Equal("Schnelle Lieferung, gerne wieder!", answers[1].GetProperty("comment").GetString());
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task ScoresOutOfRangeAndUnknownCustomersAreRefused(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        await (await app.Api.PutAsJsonAsync("/api/customers/C1", new { email = "a@beispiel.de" })).JsonAsync(201);
        var errors = await (await app.Api.PostAsJsonAsync("/api/survey-answers", new { customerId = "C1", answeredAt = "2025-05-05T08:00:00Z", nps = 11, csat = 0, ces = 8, recommend = 0 })).ProblemErrorsAsync(400);
        Assert.Equal(["ces", "csat", "nps", "recommend"], errors.Keys.Order());
        var empty = await (await app.Api.PostAsJsonAsync("/api/survey-answers", new { customerId = "C1", answeredAt = "2025-05-05T08:00:00Z" })).ProblemErrorsAsync(400);
        Assert.Contains("nps", empty.Keys);
        await (await app.Api.PostAsJsonAsync("/api/survey-answers", new { customerId = "ghost", answeredAt = "2025-05-05T08:00:00Z", nps = 5 })).ProblemErrorsAsync(404);
        var batch = await (await app.Api.PostAsJsonAsync("/api/survey-answers/batch", new { answers = new object[] {
            new { customerId = "C1", answeredAt = "2025-05-05T08:00:00Z", nps = 5 }, new { customerId = "ghost", answeredAt = "2025-05-05T08:00:00Z", nps = 5 } } })).ProblemErrorsAsync(422);
        Assert.Equal(["answers[1].customerId"], batch.Keys);
        Assert.Equal(0, await app.WithDbAsync(db => Task.FromResult(db.SurveyAnswers.Count())));
    }
}
