using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail.Bounces;

namespace RetentionCampaigns.Bounces;

public sealed record BounceItem(long Id, DateTime ReceivedAt, string Kind, long? RunId, string? CustomerId, string? Status, string Summary, bool Kept);
public sealed record BounceList(Dictionary<string, int> Counts, int Unmatched, List<BounceItem> Items);

/// <summary>
/// The bounce mailbox's record: counts by kind, the latest reports (filter by kind, or those tied to no delivery),
/// the bytes of a kept one, and a reading of the mailbox on demand (otherwise it is read on a schedule).
/// </summary>
public static class BouncesApi
{
    const int PageSize = 100;

    public static RouteGroupBuilder MapBounces(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/bounces").WithTags("Bounces");
        group.MapGet("/", List).WithSummary("Counts by kind and the latest 100 reports from the bounce mailbox; kind=hard|soft|complaint|informational|unparseable, unmatched=true for those tied to no delivery.");
        group.MapGet("/{id:long}/message", Message).WithSummary("The kept bytes (message/rfc822) of a report that could not be read or tied to a delivery.");
        group.MapPost("/read", ReadNow).WithSummary("Read the bounce mailbox now (it is read every Mail:Bounces:PollInterval anyway).");
        return api;
    }

    static readonly string[] Kinds = [BounceKinds.Hard, BounceKinds.Soft, BounceKinds.Complaint, BounceKinds.Informational, BounceKinds.Unparseable];

    static async Task<Results<Ok<BounceList>, ValidationProblem>> List(string? kind, bool? unmatched, long? before, RetentionDb db, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        if (kind is not null && !Kinds.Contains(kind)) errors.Add("kind", $"must be one of: {string.Join(", ", Kinds)}.");
        if (errors.Any) return errors.ToProblem();
        var counts = await db.Bounces.GroupBy(b => b.Kind).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, ct);
        var unmatchedCount = await db.Bounces.CountAsync(b => b.RunId == null, ct);
        var query = db.Bounces.AsNoTracking();
        if (kind is not null) query = query.Where(b => b.Kind == kind);
        if (unmatched == true) query = query.Where(b => b.RunId == null);
        if (before is { } id) query = query.Where(b => b.Id < id);
        var items = await (from b in query
                           join c in db.Customers on b.CustomerId equals c.Id into customers
                           from c in customers.DefaultIfEmpty()
                           orderby b.Id descending
                           select new BounceItem(b.Id, b.ReceivedAt, b.Kind, b.RunId, c == null ? null : c.ExternalId, b.Status, b.Summary, b.Raw != null))
            .Take(PageSize).ToListAsync(ct);
        return TypedResults.Ok(new BounceList(counts, unmatchedCount, items));
    }

    static async Task<Results<FileContentHttpResult, ProblemHttpResult>> Message(long id, RetentionDb db, CancellationToken ct)
    {
        var raw = await db.Bounces.Where(b => b.Id == id).Select(b => new { b.Raw }).FirstOrDefaultAsync(ct);
        if (raw is null) return TypedResults.Problem(title: "Bounce not found.", detail: $"No bounce has the id {id}.", statusCode: 404);
        if (raw.Raw is null)
            return TypedResults.Problem(title: "Not kept.", detail: $"Bounce {id} was read and tied to its delivery; its message was not kept.", statusCode: 404);
        return TypedResults.File(raw.Raw, "message/rfc822", $"bounce-{id}.eml");
    }

    static async Task<Results<Ok<InboxResult>, ProblemHttpResult>> ReadNow(BounceInbox inbox, IOptions<BounceOptions> options, CancellationToken ct)
    {
        var mailbox = options.Value.Mailbox;
        if (!mailbox.Enabled)
            return TypedResults.Problem(title: "No bounce mailbox.", detail: "Set Mail:Bounces:Mailbox:Host (and its user and password) to have bounces read.", statusCode: 409);
        try
        {
            return TypedResults.Ok(await inbox.ReadMailboxAsync(mailbox, ct));
        }
        catch (Exception e) when (BounceMailbox.IsUnreachable(e))
        {
            return TypedResults.Problem(title: "The bounce mailbox could not be read.", detail: $"{mailbox.Host}: {e.Message}", statusCode: 502);
        }
    }
}
