using Microsoft.AspNetCore.Http.HttpResults;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.ApiKeys;

/// <summary>The API keys: listed with name, creation and last use (never the key itself), created and revoked.</summary>
public static class ApiKeysApi
{
    public sealed record CreateApiKeyRequest(string? Name);
    public sealed record CreatedApiKey(string Name, string Key, string Note);

    public static RouteGroupBuilder MapApiKeys(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/api-keys").WithTags("API keys");
        group.MapGet("/", (RetentionDb db, CancellationToken ct) => ApiKeyService.ListAsync(db, ct))
            .WithSummary("Every API key with its name, prefix, creation, last use (to the minute) and revocation; never the key itself.");
        group.MapPost("/", CreateAsync).WithSummary("Create a key; the answer shows it once.");
        group.MapDelete("/{idOrPrefix}", RevokeAsync).WithSummary("Revoke a key by its id or its prefix; it stops working at once.");
        return group;
    }

    static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateAsync(CreateApiKeyRequest request, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new Api.ValidationErrors();
        var name = errors.Required("name", request.Name, 100);
        if (errors.Any) return errors.ToProblem();
        var key = await ApiKeyService.CreateAsync(db, name!, clock, ct);
        return TypedResults.Created("/api/api-keys", new CreatedApiKey(name!, key, "Store the key now: it is shown only once."));
    }

    static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(string idOrPrefix, RetentionDb db, TimeProvider clock, CancellationToken ct) =>
        await ApiKeyService.RevokeAsync(db, idOrPrefix, clock.GetUtcNow().UtcDateTime, ct)
            ? TypedResults.NoContent()
            : TypedResults.Problem(title: "API key not found.", detail: $"No active API key has the id or prefix '{idOrPrefix}'.", statusCode: 404);
}
