using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Surveys;

/// <summary>One survey response: NPS 0-10, CSAT 1-5, CES 1-7 and the three loyalty questions 1-10, each optional.</summary>
public sealed record SurveyAnswerInput(
    string? CustomerId, DateTimeOffset? AnsweredAt, int? Nps, int? Csat, int? Ces, int? BuyAgain, int? TryNewProducts,
    int? Recommend, string? Comment);

public sealed record SurveyAnswerBatch(List<SurveyAnswerInput>? Answers);

public sealed record SurveyAnswerItem(
    string CustomerId, DateTime AnsweredAt, int? Nps, int? Csat, int? Ces, int? BuyAgain, int? TryNewProducts,
    int? Recommend, string? Comment);

public static class SurveyAnswersApi
{
    public static RouteGroupBuilder MapSurveyAnswers(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/survey-answers").WithTags("Survey answers");
        group.MapPost("/", PostOne).WithSummary("Record one survey response (idempotent per customer and answer time).");
        group.MapPost("/batch", PostBatch).WithSummary($"Record up to {BatchLimit.MaxItems} survey responses; all or nothing.");
        return group;
    }

    public static SurveyAnswerItem AsItem(this SurveyAnswer a, string customerExternalId) => new(
        customerExternalId, a.AnsweredAt, a.Nps, a.Csat, a.Ces, a.BuyAgain, a.TryNewProducts, a.Recommend, a.Comment);

    static async Task<Results<Created<SurveyAnswerItem>, Ok<SurveyAnswerItem>, ValidationProblem, ProblemHttpResult>> PostOne(
        SurveyAnswerInput input, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        Validate(input, "", errors);
        if (errors.Any) return errors.ToProblem();
        var (summary, unknown) = await RecordAsync(db, [input], clock, ct);
        if (unknown.Count > 0) return CustomersApi.NotFound(input.CustomerId!.Trim());
        var item = new SurveyAnswerItem(input.CustomerId!.Trim(), input.AnsweredAt!.Value.UtcDateTime, input.Nps, input.Csat,
            input.Ces, input.BuyAgain, input.TryNewProducts, input.Recommend, input.Comment?.Trim());
        return summary.Created == 1 ? TypedResults.Created((string?)null, item) : TypedResults.Ok(item);
    }

    static async Task<Results<Ok<UpsertSummary>, ValidationProblem, ProblemHttpResult>> PostBatch(
        SurveyAnswerBatch batch, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (BatchLimit.Check(batch.Answers, "answers", errors) is { } refused) return refused;
        for (var i = 0; i < batch.Answers!.Count; i++)
        {
            if (batch.Answers[i] is { } answer) Validate(answer, $"answers[{i}].", errors);
            else errors.Add($"answers[{i}]", "must be an object.");
        }
        if (errors.Any) return errors.ToProblem();
        var (summary, unknown) = await RecordAsync(db, batch.Answers, clock, ct);
        if (unknown.Count == 0) return TypedResults.Ok(summary);
        for (var i = 0; i < batch.Answers.Count; i++)
            if (unknown.Contains(batch.Answers[i].CustomerId!.Trim()))
                errors.Add($"answers[{i}].customerId", $"no customer has the external id '{batch.Answers[i].CustomerId!.Trim()}'.");
        return errors.ToProblem(StatusCodes.Status422UnprocessableEntity, "Answers refer to unknown customers; nothing was written.");
    }

    static void Validate(SurveyAnswerInput input, string path, ValidationErrors errors)
    {
        errors.Required(path + "customerId", input.CustomerId, 100);
        if (input.AnsweredAt is null) errors.Add(path + "answeredAt", "is required.");
        errors.Range(path + "nps", input.Nps, 0, 10);
        errors.Range(path + "csat", input.Csat, 1, 5);
        errors.Range(path + "ces", input.Ces, 1, 7);
        errors.Range(path + "buyAgain", input.BuyAgain, 1, 10);
        errors.Range(path + "tryNewProducts", input.TryNewProducts, 1, 10);
        errors.Range(path + "recommend", input.Recommend, 1, 10);
        errors.Optional(path + "comment", input.Comment?.Replace("\n", " ").Replace("\r", " ").Replace("\t", " "), 4000);
        if (input is { Nps: null, Csat: null, Ces: null, BuyAgain: null, TryNewProducts: null, Recommend: null })
            errors.Add(path.Length == 0 ? "nps" : path + "nps", "at least one score (nps, csat, ces, buyAgain, tryNewProducts, recommend) is required.");
    }

    /// <summary>Inserts or updates responses keyed by (customer, answeredAt); unknown customers abort the whole call.</summary>
    static async Task<(UpsertSummary, HashSet<string>)> RecordAsync(
        RetentionDb db, IReadOnlyList<SurveyAnswerInput> answers, TimeProvider clock, CancellationToken ct)
    {
        var customers = await CustomerLookup.IdsAsync(db, answers.Select(a => a.CustomerId!.Trim()), ct);
        var unknown = answers.Select(a => a.CustomerId!.Trim()).Where(id => !customers.ContainsKey(id)).ToHashSet();
        if (unknown.Count > 0) return (new UpsertSummary(0, 0, 0), unknown);

        var ids = customers.Values.ToList();
        var existing = await db.SurveyAnswers.Where(a => ids.Contains(a.CustomerId)).ToListAsync(ct);
        var byKey = existing.GroupBy(a => (a.CustomerId, a.AnsweredAt)).ToDictionary(g => g.Key, g => g.First());
        var now = clock.GetUtcNow().UtcDateTime;
        int created = 0, updated = 0, unchanged = 0;
        foreach (var input in answers)
        {
            var key = (customers[input.CustomerId!.Trim()], input.AnsweredAt!.Value.UtcDateTime);
            if (!byKey.TryGetValue(key, out var answer))
            {
                byKey[key] = answer = new SurveyAnswer { CustomerId = key.Item1, AnsweredAt = key.Item2, CreatedAt = now };
                db.SurveyAnswers.Add(answer);
                created++;
            }
            (answer.Nps, answer.Csat, answer.Ces) = (input.Nps, input.Csat, input.Ces);
            (answer.BuyAgain, answer.TryNewProducts, answer.Recommend) = (input.BuyAgain, input.TryNewProducts, input.Recommend);
            answer.Comment = string.IsNullOrWhiteSpace(input.Comment) ? null : input.Comment.Trim();
            if (answer.Id == 0) continue;
            var entry = db.Entry(answer);
            entry.DetectChanges();
            if (entry.State == EntityState.Modified) updated++; else unchanged++;
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return (new UpsertSummary(created, updated, unchanged), unknown);
    }
}
