using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Account;

public sealed class PasswordModel(UserAccounts accounts, IStringLocalizer<UiText> text) : PageModel
{
    [BindProperty] public string? Current { get; set; }
    [BindProperty] public string? New { get; set; }
    [BindProperty] public string? Repeat { get; set; }
    public bool Changed { get; private set; }
    [BindProperty] public string? Language { get; set; }

    public void OnGet() => Language = User.FindFirstValue(SignInSetup.LocaleClaim) ?? "";

    /// <summary>The UI's language for this person; the session is renewed so the choice holds at once.</summary>
    public async Task<IActionResult> OnPostLanguageAsync(CancellationToken ct)
    {
        if (!long.TryParse(User.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.None, CultureInfo.InvariantCulture, out var userId)) return Forbid();
        if (await accounts.SetLocaleAsync(userId, Language, ct) is not { } user) return Forbid();
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, SignInSetup.Principal(user));
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Language = User.FindFirstValue(SignInSetup.LocaleClaim) ?? "";
        if (New != Repeat) ModelState.AddModelError(nameof(Repeat), text["The two new passwords differ."]);
        if (!long.TryParse(User.FindFirstValue(ClaimTypes.NameIdentifier), NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            return Forbid();
        if (ModelState.IsValid && await accounts.ChangePasswordAsync(userId, Current, New, ct) is { } problem)
            ModelState.AddModelError(problem.Field, text[problem.Message, UserAccounts.MinPasswordLength]);
        Changed = ModelState.IsValid;
        return Page();
    }
}
