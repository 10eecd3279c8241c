using Microsoft.AspNetCore.Mvc;

namespace RetentionCampaigns.Api;

/// <summary>What to do about an answer without a body of its own (401, 403, 404 of a route, 405, 415), said in every such problem.</summary>
public static class ProblemText
{
    public static void Explain(ProblemDetails problem)
    {
        if (problem.Detail is not null) return;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status401Unauthorized =>
                "Send an API key in the header 'Authorization: Bearer <key>'. Create one with the CLI: apikey create NAME (the demo prints one at start).",
            StatusCodes.Status403Forbidden => "This key or account may not do this.",
            StatusCodes.Status404NotFound => "There is nothing at this address. The API is described at /openapi/v1.json.",
            StatusCodes.Status415UnsupportedMediaType =>
                "Send JSON with Content-Type: application/json (CSV imports also take text/csv or a multipart form with the field 'file').",
            StatusCodes.Status405MethodNotAllowed => "This address does not take this method. The API is described at /openapi/v1.json.",
            _ => null,
        };
    }
}
