using System.Security.Claims;

namespace RetentionCampaigns.Users;

/// <summary>Who did something, as audit trails and "changed by" columns write it.</summary>
public static class Actors
{
    public static string Of(ClaimsPrincipal user) => user.HasClaim(c => c.Type == ApiKeys.ApiKeyAuthenticationHandler.KeyIdClaim)
        ? $"api key {user.Identity?.Name ?? "(unnamed)"}"
        : user.Identity?.Name ?? "(unknown)";
}
