using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Settings;

/// <summary>The people who sign in: invited with a generated password (shown once) and a role, disabled and enabled.</summary>
[Authorize(Policy = SignInSetup.AdminOnly)]
public sealed class UsersModel(UserAccounts accounts, IStringLocalizer<UiText> text) : PageModel
{
    public List<User> People { get; private set; } = [];
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Role { get; set; } = UserRoles.Marketer;
    /// <summary>The account just invited and its password: shown this once.</summary>
    public (string Email, string Password)? Invited { get; private set; }

    long Me => long.Parse(User.FindFirstValue(ClaimTypes.NameIdentifier)!, CultureInfo.InvariantCulture);

    public async Task OnGetAsync(CancellationToken ct) => People = await accounts.ListAsync(ct);

    public async Task<IActionResult> OnPostInviteAsync(CancellationToken ct)
    {
        try
        {
            var (user, password) = await accounts.CreateAsync(Email, Role, ct);
            Invited = (user.Email, password);
            Email = null;
        }
        catch (UserAccounts.Refused refused)
        {
            ModelState.AddModelError(refused.Field == "role" ? nameof(Role) : nameof(Email), refused.Field == "role"
                ? text["Choose a role."] : text["Enter an email address without an account yet."]);
        }
        People = await accounts.ListAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostDisableAsync(long id, CancellationToken ct)
    {
        await accounts.SetDisabledAsync(id, true, Me, ct);
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostEnableAsync(long id, CancellationToken ct)
    {
        await accounts.SetDisabledAsync(id, false, Me, ct);
        return RedirectToPage();
    }
}
