using Microsoft.AspNetCore.Http.HttpResults;

namespace RetentionCampaigns.Api;

/// <summary>The one size limit of every batch endpoint, answered the same way everywhere.</summary>
public static class BatchLimit
{
    public const int MaxItems = 10_000;

    /// <summary>A problem for a missing list (400) or one over the limit (413); null when the list may be read.</summary>
    public static ProblemHttpResult? Check<T>(List<T>? items, string field, ValidationErrors errors)
    {
        if (items is null)
        {
            errors.Add(field, "is required.");
            return errors.ToProblem(StatusCodes.Status400BadRequest, "The request has invalid fields.");
        }
        if (items.Count <= MaxItems) return null;
        errors.Add(field, $"holds {items.Count} items; at most {MaxItems} are accepted per batch. Split it into batches of {MaxItems}, or import a CSV file (POST /api/imports).");
        return errors.ToProblem(StatusCodes.Status413PayloadTooLarge, "The batch is too large.");
    }
}
