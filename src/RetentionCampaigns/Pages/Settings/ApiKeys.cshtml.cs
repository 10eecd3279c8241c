using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Data;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Settings;

/// <summary>API keys for the shop's integrations: listed with their last use, created (the key shown once) and revoked.</summary>
[Authorize(Policy = SignInSetup.AdminOnly)]
public sealed class ApiKeysModel(RetentionDb db, TimeProvider clock, IStringLocalizer<UiText> text) : PageModel
{
    public List<ApiKeyService.ApiKeyItem> Keys { get; private set; } = [];
    [BindProperty] public string? Name { get; set; }
    /// <summary>The key just created: shown this once.</summary>
    public string? Created { get; private set; }
    /// <summary>The key a revocation is asked for, awaiting its confirmation.</summary>
    [BindProperty(SupportsGet = true)] public long? Revoke { get; set; }

    public async Task OnGetAsync(CancellationToken ct) => Keys = await ApiKeyService.ListAsync(db, ct);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken ct)
    {
        var name = Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100) ModelState.AddModelError(nameof(Name), text["Give the key a name of up to 100 characters, e.g. the integration that uses it."]);
        else (Created, Name) = (await ApiKeyService.CreateAsync(db, name, clock, ct), null);
        Keys = await ApiKeyService.ListAsync(db, ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(long id, CancellationToken ct)
    {
        await ApiKeyService.RevokeAsync(db, id.ToString(System.Globalization.CultureInfo.InvariantCulture), clock.GetUtcNow().UtcDateTime, ct);
        return RedirectToPage();
    }
}
