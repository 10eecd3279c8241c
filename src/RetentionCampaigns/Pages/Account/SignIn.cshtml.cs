using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Localization;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Pages.Account;

public sealed class SignInModel(UserAccounts accounts, SignInAttempts attempts, IStringLocalizer<UiText> text) : PageModel
{
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(Email)) ModelState.AddModelError(nameof(Email), text["Enter the email address of your account."]);
        if (string.IsNullOrEmpty(Password)) ModelState.AddModelError(nameof(Password), text["Enter your password."]);
        if (!ModelState.IsValid) return Page();
        if (!attempts.TryAttempt(HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown", Email!))
        {
            Response.Headers.RetryAfter = "60";
            ModelState.AddModelError(nameof(Password), text["Too many attempts. Wait a minute and try again."]);
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            return Page();
        }
        var user = await accounts.VerifyAsync(Email, Password, ct);
        if (user is null)
        {
            ModelState.AddModelError(nameof(Password), text["The email address or the password is not right."]);
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, SignInSetup.Principal(user));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/");
    }
}
