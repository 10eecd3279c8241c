using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail;

namespace RetentionCampaigns.Suppressions;

public sealed record SuppressionInput(string? Email, string? Note);
public sealed record SuppressionItem(string AddressHash, string Reason, string Source, string? Detail, DateTime CreatedAt);
public sealed record SuppressionCheck(string Email, bool Suppressed, SuppressionItem? Entry);
public sealed record SuppressionPage(List<SuppressionItem> Items, string? Next);

/// <summary>One provider feedback event: a complaint (spam report) or a bounce.</summary>
public sealed record FeedbackEvent(string? Type, string? Email, string? BounceType, string? Status, string? Diagnostic,
    string? MessageId, DateTimeOffset? OccurredAt);
public sealed record FeedbackInput(List<FeedbackEvent?>? Events, string? Provider);
public sealed record FeedbackResult(int Suppressed, int AlreadySuppressed, int ConsentWithdrawn, int Ignored);

/// <summary>
/// The suppression list in the API: manual entries, a check for one address, the list (hashes only, as stored)
/// and removal of entries that may be undone. Provider feedback (complaints, bounces) arrives by webhook in the
/// documented JSON format (README, "Suppression list").
/// </summary>
public static class SuppressionsApi
{
    const int PageSize = 100;

    // A complaint stays: the person told their mailbox provider we are spam. An erased person asked to be forgotten.
    static readonly string[] Removable = [SuppressionReasons.Manual, SuppressionReasons.HardBounce];

    public static RouteGroupBuilder MapSuppressions(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/suppressions").WithTags("Suppressions");
        group.MapPost("/", Add).WithSummary("Suppress an address by hand; it is stored as a salted hash only.");
        group.MapGet("/check", Check).WithSummary("Whether an address is suppressed, and why.");
        group.MapGet("/", List).WithSummary("The list, newest first, 100 at a time (hashes only: addresses are not kept).");
        group.MapDelete("/", Remove).WithSummary("Remove a manual or hard-bounce entry for an address; complaints and erasures stay.");
        api.MapPost("/webhooks/feedback", Feedback).WithTags("Suppressions")
            .WithSummary("Complaints and bounces from the mail provider: complaints and hard bounces suppress the address.");
        return api;
    }

    static async Task<Results<Created<SuppressionItem>, Ok<SuppressionItem>, ValidationProblem>> Add(SuppressionInput input, HttpContext http,
        RetentionDb db, SuppressionList suppressions, TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var email = Email(errors, "email", input.Email);
        var note = errors.Optional("note", input.Note, 500);
        if (errors.Any) return errors.ToProblem();
        var hash = suppressions.Hash(email!);
        var existing = await FindAsync(db, hash, ct);
        if (existing is not null) return TypedResults.Ok(existing);
        await suppressions.AddAsync(db, email!, SuppressionReasons.Manual, $"api key {http.User.Identity?.Name}", note, clock.GetUtcNow().UtcDateTime, ct);
        return TypedResults.Created($"/api/suppressions/check?email={Uri.EscapeDataString(email!)}", (await FindAsync(db, hash, ct))!);
    }

    static async Task<Results<Ok<SuppressionCheck>, ValidationProblem>> Check(string? email, RetentionDb db, SuppressionList suppressions, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var address = Email(errors, "email", email);
        if (errors.Any) return errors.ToProblem();
        var entry = await FindAsync(db, suppressions.Hash(address!), ct);
        return TypedResults.Ok(new SuppressionCheck(address!, entry is not null, entry));
    }

    static async Task<Results<Ok<SuppressionPage>, ValidationProblem>> List(string? reason, string? after, RetentionDb db, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (reason is not null && !new[] { SuppressionReasons.HardBounce, SuppressionReasons.Complaint, SuppressionReasons.Manual, SuppressionReasons.Erased }.Contains(reason))
            errors.Add("reason", "must be hard_bounce, complaint, manual or erased.");
        var cursor = after is null ? null : Cursor.Parse(after);
        if (after is not null && cursor is null) errors.Add("after", "is not a cursor from a previous page's next.");
        if (errors.Any) return errors.ToProblem();

        var query = db.Suppressions.AsNoTracking();
        if (reason is not null) query = query.Where(s => s.Reason == reason);
        if (cursor is { } c) query = query.Where(s => s.CreatedAt < c.CreatedAt || (s.CreatedAt == c.CreatedAt && string.Compare(s.AddressHash, c.Hash) < 0));
        var rows = await query.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.AddressHash).Take(PageSize + 1).ToListAsync(ct);
        var items = rows.Take(PageSize).Select(AsItem).ToList();
        return TypedResults.Ok(new SuppressionPage(items, rows.Count > PageSize ? Cursor.Of(items[^1]) : null));
    }

    static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> Remove(string? email, RetentionDb db, SuppressionList suppressions, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var address = Email(errors, "email", email);
        if (errors.Any) return errors.ToProblem();
        var hash = suppressions.Hash(address!);
        var entry = await FindAsync(db, hash, ct);
        if (entry is null)
            return TypedResults.Problem(title: "Not suppressed.", detail: $"The address {address} is not on the suppression list.", statusCode: 404);
        if (!Removable.Contains(entry.Reason))
            return Problems.Conflict("email", entry.Reason == SuppressionReasons.Complaint
                ? "the address is suppressed because of a complaint to the mail provider; that entry stays."
                : "the address belongs to a person whose data was erased; that entry stays so they are never mailed again.");
        await db.Suppressions.Where(s => s.AddressHash == hash && Removable.Contains(s.Reason)).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Provider feedback, all or nothing: complaints suppress the address and withdraw marketing consent as an
    /// objection; hard bounces (bounceType hard, or a status saying the address is gone: 5.1.x, 5.2.1) suppress it;
    /// soft bounces are ignored.
    /// </summary>
    static async Task<Results<Ok<FeedbackResult>, ValidationProblem>> Feedback(FeedbackInput input, RetentionDb db, SuppressionList suppressions,
        TimeProvider clock, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var provider = errors.Optional("provider", input.Provider, 100) ?? "provider";
        if (input.Events is not { Count: > 0 }) errors.Add("events", "is required: at least one event.");
        else if (input.Events.Count > BatchLimit.MaxItems) errors.Add("events", $"must hold at most {BatchLimit.MaxItems} events; send more in several requests.");
        var valid = new List<(string Email, string Reason, string Detail, DateTime? OccurredAt)?>();
        for (var i = 0; i < (input.Events?.Count ?? 0); i++)
            valid.Add(Validate(errors, $"events[{i}]", input.Events![i], provider));
        if (errors.Any) return errors.ToProblem();

        var now = clock.GetUtcNow().UtcDateTime;
        var (added, already, withdrawn, ignored) = (0, 0, 0, 0);
        foreach (var item in valid)
        {
            if (item is not { } e) { ignored++; continue; }
            if (await FindAsync(db, suppressions.Hash(e.Email), ct) is not null) already++;
            else
            {
                await suppressions.AddAsync(db, e.Email, e.Reason, provider, e.Detail, now, ct);
                added++;
            }
            if (e.Reason == SuppressionReasons.Complaint) withdrawn += await WithdrawAfterComplaintAsync(db, e.Email, provider, e.OccurredAt ?? now, now, ct);
        }
        return TypedResults.Ok(new FeedbackResult(added, already, withdrawn, ignored));
    }

    /// <summary>A suppression for the event, or null for one that suppresses nothing (a soft bounce).</summary>
    static (string, string, string, DateTime?)? Validate(ValidationErrors errors, string path, FeedbackEvent? e, string provider)
    {
        if (e is null) { errors.Add(path, "is required."); return null; }
        var before = errors.Total;
        var type = errors.Required($"{path}.type", e.Type, 20);
        if (type is not null and not ("complaint" or "bounce")) errors.Add($"{path}.type", "must be complaint or bounce.");
        var email = Email(errors, $"{path}.email", e.Email);
        var bounceType = errors.Optional($"{path}.bounceType", e.BounceType, 10);
        if (bounceType is not null and not ("hard" or "soft")) errors.Add($"{path}.bounceType", "must be hard or soft.");
        var status = errors.Optional($"{path}.status", e.Status, 20);
        if (status is not null && !System.Text.RegularExpressions.Regex.IsMatch(status, @"^[245]\.\d{1,3}\.\d{1,3}$"))
            errors.Add($"{path}.status", "must be an enhanced status code (RFC 3463), e.g. 5.1.1.");
        var diagnostic = errors.Optional($"{path}.diagnostic", e.Diagnostic, 1000);
        var messageId = errors.Optional($"{path}.messageId", e.MessageId, 300);
        if (type == "bounce" && bounceType is null && status is null) errors.Add($"{path}.bounceType", "is required for a bounce unless status is given.");
        if (errors.Total > before) return null;

        var hard = type == "bounce" && (bounceType == "hard" || (bounceType is null && DeliveryStatusCodes.AddressGone(status)));
        if (type == "bounce" && !hard) return null;
        var detail = string.Join("; ", new[] { status, diagnostic, messageId is null ? null : $"message {messageId}" }.Where(s => s is not null));
        return (email!, type == "complaint" ? SuppressionReasons.Complaint : SuppressionReasons.HardBounce,
            detail.Length == 0 ? $"{type} reported by {provider}" : detail, e.OccurredAt?.UtcDateTime);
    }

    /// <summary>A spam complaint objects to marketing email: withdraw it for every customer with the address.</summary>
    internal static async Task<int> WithdrawAfterComplaintAsync(RetentionDb db, string email, string provider, DateTime occurredAt, DateTime now, CancellationToken ct)
    {
        var normalized = SuppressionList.Normalize(email);
        var customers = await db.Customers.Where(c => c.Email.ToLower() == normalized).Select(c => c.Id).ToListAsync(ct);
        var withdrawn = 0;
        foreach (var id in customers)
            if ((await ConsentLedger.WithdrawAsync(db, id, "email_marketing", new ConsentWitness("complaint", null, null), occurredAt, ct)).Recorded)
                withdrawn++;
        return withdrawn;
    }

    static string? Email(ValidationErrors errors, string path, string? value)
    {
        var before = errors.Total;
        var email = errors.Required(path, value, 254);
        if (email is not null && !FieldRules.IsEmail(email)) errors.Add(path, "is not a valid email address.");
        return errors.Total > before ? null : email;
    }

    static async Task<SuppressionItem?> FindAsync(RetentionDb db, string hash, CancellationToken ct) =>
        await db.Suppressions.AsNoTracking().Where(s => s.AddressHash == hash).Select(s => AsItem(s)).FirstOrDefaultAsync(ct);

    static SuppressionItem AsItem(Suppression s) => new(s.AddressHash, s.Reason, s.Source, s.Detail, s.CreatedAt);

    /// <summary>The list's keyset cursor: the last item's time and hash.</summary>
    sealed record Cursor(DateTime CreatedAt, string Hash)
    {
        public static string Of(SuppressionItem item) => $"{item.CreatedAt.Ticks}.{item.AddressHash}";

        public static Cursor? Parse(string text)
        {
            var dot = text.IndexOf('.');
            return dot > 0 && long.TryParse(text[..dot], out var ticks) && ticks >= 0 && ticks <= DateTime.MaxValue.Ticks && text.Length - dot - 1 == 64
                ? new Cursor(new DateTime(ticks, DateTimeKind.Utc), text[(dot + 1)..]) : null;
        }
    }
}
