using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Account;

public sealed class PasswordModel(UserAccounts accounts) : PageModel
{
    [BindProperty] public string? Current { get; set; }
    [BindProperty] public string? New { get; set; }
    [BindProperty] public string? Repeat { get; set; }
    public bool Changed { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (New != Repeat) ModelState.AddModelError(nameof(Repeat), "The two new passwords differ.");
        if (!long.TryParse(User.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            return Forbid();
        if (ModelState.IsValid && await accounts.ChangePasswordAsync(userId, Current, New, ct) is { } problem)
            ModelState.AddModelError(problem.Field, problem.Message);
        Changed = ModelState.IsValid;
        return Page();
    }
}
