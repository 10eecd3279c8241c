using System.Globalization;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Links;
using RetentionCampaigns.Mail;
using RetentionCampaigns.PublicPages;
using RetentionCampaigns.Suppressions;

namespace RetentionCampaigns.Signups;

public sealed record SignupInput(string? Email, string? FirstName, string? Locale, string? Form);

/// <summary>
/// Double opt-in. <c>POST /signup</c> takes a sign-up form (HTML form or JSON), stores the pending address and sends
/// the confirmation email; <c>/confirm/{token}</c> shows one button (a GET changes nothing: link scanners follow
/// them) and its POST grants marketing consent with the confirming request's IP address, user agent and time.
/// The answer to a sign-up never tells whether the address is known, suppressed or subscribed already.
/// </summary>
public static class SignupPages
{
    /// <summary>Customers created by a confirmed sign-up get an id with this prefix; the shop's own ids never have it.</summary>
    public const string SignupIdPrefix = "signup:";

    public static void MapSignupPages(this RouteGroupBuilder pages)
    {
        pages.MapPost("/signup", SignUpAsync).DisableAntiforgery();
        pages.MapGet("/confirm/{token}", ShowConfirmAsync);
        pages.MapPost("/confirm/{token}", ConfirmAsync).DisableAntiforgery();
    }

    static async Task<IResult> SignUpAsync(HttpContext http, RetentionDb db, SuppressionList suppressions, ConfirmationMail mail,
        IOptions<SignupOptions> options, IOptions<PublicPageOptions> pageOptions, IOptions<ShopOptions> shop, TimeProvider clock,
        ILogger<Signup> log, CancellationToken ct)
    {
        var json = http.Request.HasJsonContentType();
        var input = await ReadAsync(http, json, ct);
        var errors = new ValidationErrors();
        var email = errors.Required("email", input?.Email, 254);
        if (email is not null && !FieldRules.IsEmail(email)) errors.Add("email", "is not a valid email address.");
        var firstName = errors.Optional("firstName", input?.FirstName, 100);
        var locale = errors.Optional("locale", input?.Locale, 10)?.ToLowerInvariant();
        if (locale is not null and not ("de" or "en")) errors.Add("locale", "must be de or en.");
        var form = errors.Optional("form", input?.Form, 50);
        locale ??= PublicPage.PreferredLocale(http, shop.Value.DefaultLocale);
        var text = PageText.For(locale);
        if (errors.Any)
        {
            if (json) return errors.ToProblem();
            var (field, message) = errors.Messages.First();
            return PublicPage.Render(400, text.Locale, shop.Value.Name, text.BadRequestTitle,
                $"<p>{PublicPage.Encode(string.Format(CultureInfo.InvariantCulture, text.SignupInvalid, field, message))}</p>");
        }
        if (!http.RequestServices.GetRequiredService<PublicRateLimits>().TrySignup(PublicEndpoints.ClientAddress(http)))
        {
            http.Response.Headers.RetryAfter = "3600";
            return PublicPage.Render(429, text.Locale, shop.Value.Name, text.TooManyTitle, $"<p>{PublicPage.Encode(text.TooMany)}</p>");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var why = await WhyNoEmailAsync(db, suppressions, email!, options.Value, now, ct);
        if (why is not null) log.LogInformation("Sign-up without a confirmation email: {Why}.", why);
        else
        {
            var witness = ConsentWitness.From(http, "double_opt_in");
            var signup = new Signup
            {
                Email = email!, FirstName = firstName, Locale = locale, Form = form, IpAddress = witness.IpAddress, UserAgent = witness.UserAgent,
                ConsentTextVersion = pageOptions.Value.ConsentTextVersion, CreatedAt = now, ExpiresAt = now.AddDays(Math.Max(1, options.Value.PendingDays)),
            };
            db.Signups.Add(signup);
            await db.SaveChangesAsync(ct);
            var sent = await mail.SendAsync(signup, ct);
            if (sent.Outcome != SendOutcome.Accepted)
            {
                // Nothing waits for a link that never left: the form may simply be sent again.
                await db.Signups.Where(s => s.Id == signup.Id).ExecuteDeleteAsync(ct);
                log.LogWarning("The confirmation email of sign-up {Id} was not sent ({Outcome}): {Reply}", signup.Id, sent.Outcome, sent.Reply);
                return json
                    ? TypedResults.Problem(title: "The confirmation email could not be sent.", detail: sent.Reply, statusCode: 503)
                    : PublicPage.Render(503, text.Locale, shop.Value.Name, text.SendFailedTitle, $"<p>{PublicPage.Encode(text.SendFailed)}</p>");
            }
        }
        return json
            ? TypedResults.Accepted((string?)null, new { status = "pending", message = "If the address can receive our email, a confirmation link is on its way." })
            : PublicPage.Render(200, text.Locale, shop.Value.Name, text.SignupTitle, $"<p class=\"done\" role=\"status\">{PublicPage.Encode(text.SignupSent)}</p>");
    }

    static async Task<SignupInput?> ReadAsync(HttpContext http, bool json, CancellationToken ct)
    {
        if (json)
        {
            try { return await http.Request.ReadFromJsonAsync<SignupInput>(ct); }
            catch (System.Text.Json.JsonException) { return null; }
        }
        if (!http.Request.HasFormContentType) return null;
        var form = await http.Request.ReadFormAsync(ct);
        return new SignupInput(form["email"], form["firstName"], form["locale"], form["form"]);
    }

    /// <summary>Why no confirmation email goes out (the same answer is given either way), or null to send one.</summary>
    static async Task<string?> WhyNoEmailAsync(RetentionDb db, SuppressionList suppressions, string email, SignupOptions options, DateTime now, CancellationToken ct)
    {
        if (await suppressions.ContainsAsync(db, email, ct)) return "the address is on the suppression list";
        var normalized = SuppressionList.Normalize(email);
        var since = now - options.ResendAfter;
        if (await db.Signups.AnyAsync(s => s.Email.ToLower() == normalized && s.ConfirmedAt == null && s.CreatedAt > since, ct))
            return $"a confirmation email went to the address less than {options.ResendAfter.TotalMinutes:0} minutes ago";
        var customers = await db.Customers.Where(c => c.Email.ToLower() == normalized && c.ErasedAt == null).Select(c => c.Id).ToListAsync(ct);
        var states = await ConsentApi.CurrentStatesAsync(db, customers, ct);
        if (states.Values.Any(s => s["email_marketing"].Status == "granted")) return "the address has marketing consent already";
        return null;
    }

    static async Task<IResult> ShowConfirmAsync(string token, HttpContext http, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Confirm, out var claims, out var failure)) return failure;
        var signup = await db.Signups.AsNoTracking().FirstOrDefaultAsync(s => s.Id == claims.CustomerId, ct);
        if (signup is null || (signup.ConfirmedAt is null && signup.ExpiresAt <= clock.GetUtcNow().UtcDateTime)) return Expired(http, shop.Value, signup?.Locale);
        var text = PageText.For(signup.Locale);
        if (signup.ConfirmedAt is not null)
            return PublicPage.Render(200, text.Locale, shop.Value.Name, text.ConfirmedTitle, $"<p class=\"done\">{PublicPage.Encode(text.AlreadyConfirmed)}</p>");
        var question = string.Format(CultureInfo.InvariantCulture, text.ConfirmQuestion, shop.Value.Name, PublicPage.MaskEmail(signup.Email));
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.ConfirmTitle,
            $"<p>{PublicPage.Encode(question)}</p><form method=\"post\"><button type=\"submit\">{PublicPage.Encode(text.ConfirmButton)}</button></form>");
    }

    /// <summary>
    /// Confirms once, in one transaction: the sign-up is marked (a conditional update, so two clicks confirm once),
    /// the customer with the address is found or created, and the grant is appended to the consent ledger.
    /// </summary>
    static async Task<IResult> ConfirmAsync(string token, HttpContext http, RetentionDb db, IOptions<ShopOptions> shop, TimeProvider clock, CancellationToken ct)
    {
        if (!PublicEndpoints.TryVerify(http, token, LinkPurpose.Confirm, out var claims, out var failure)) return failure;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var marked = await db.Signups.Where(s => s.Id == claims.CustomerId && s.ConfirmedAt == null && s.ExpiresAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.ConfirmedAt, now), ct);
        var signup = await db.Signups.FirstOrDefaultAsync(s => s.Id == claims.CustomerId, ct);
        if (signup is null || signup.ConfirmedAt is null) return Expired(http, shop.Value, signup?.Locale);
        var text = PageText.For(signup.Locale);
        if (marked == 0)
            return PublicPage.Render(200, text.Locale, shop.Value.Name, text.ConfirmedTitle, $"<p class=\"done\">{PublicPage.Encode(text.AlreadyConfirmed)}</p>");

        var normalized = SuppressionList.Normalize(signup.Email);
        var customer = await db.Customers.Where(c => c.Email.ToLower() == normalized && c.ErasedAt == null).OrderBy(c => c.Id).FirstOrDefaultAsync(ct);
        if (customer is null)
        {
            customer = new Customer
            {
                ExternalId = SignupIdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), Email = signup.Email, FirstName = signup.FirstName,
                Locale = signup.Locale, TimeZone = shop.Value.TimeZone, SignedUpAt = now, CreatedAt = now, UpdatedAt = now,
            };
            db.Customers.Add(customer);
            await db.SaveChangesAsync(ct);
        }
        var witness = ConsentWitness.From(http, "double_opt_in", signup.ConsentTextVersion);
        db.ConsentEvents.Add(new ConsentEvent
        {
            CustomerId = customer.Id, Purpose = "email_marketing", Status = "granted", LawfulBasis = "consent", Source = witness.Source,
            OccurredAt = now, IpAddress = witness.IpAddress, UserAgent = witness.UserAgent, ConsentTextVersion = witness.ConsentTextVersion, RecordedAt = now,
        });
        signup.CustomerId = customer.Id;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return PublicPage.Render(200, text.Locale, shop.Value.Name, text.ConfirmedTitle, $"<p class=\"done\" role=\"status\">{PublicPage.Encode(text.Confirmed)}</p>");
    }

    /// <summary>In the sign-up's language while its row exists, else in the browser's.</summary>
    static IResult Expired(HttpContext http, ShopOptions shop, string? locale)
    {
        var text = PageText.For(locale ?? PublicPage.PreferredLocale(http, shop.DefaultLocale));
        return PublicPage.Render(410, text.Locale, shop.Name, text.LinkExpiredTitle,
            $"<p>{PublicPage.Encode(text.LinkExpired)}</p>{PublicPage.NewLinkForm(text)}{PublicPage.Contact(text, shop)}");
    }
}
