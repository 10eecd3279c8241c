using System.Globalization;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Hangfire;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;
using RetentionCampaigns.Mail.Bounces;
using RetentionCampaigns.Suppressions;

namespace RetentionCampaigns.Bounces;

public static class BounceKinds
{
    public const string Hard = "hard", Soft = "soft", Complaint = "complaint", Informational = "informational", Unparseable = "unparseable";

    public static string Of(BounceKind kind) => kind switch
    {
        BounceKind.Hard => Hard,
        BounceKind.Soft => Soft,
        BounceKind.Complaint => Complaint,
        BounceKind.Informational => Informational,
        _ => Unparseable,
    };
}

/// <summary>
/// One message from the bounce mailbox, recorded once (by the fingerprint of its bytes): what it said and which
/// delivery it is about. Its bytes are kept only when it could not be read or tied to a delivery, for a person to look at.
/// </summary>
public sealed class Bounce
{
    public long Id { get; set; }
    public required string Fingerprint { get; set; }
    public DateTime ReceivedAt { get; set; }
    public required string Kind { get; set; }
    public long? RunId { get; set; }
    public long? CustomerId { get; set; }
    public string? Status { get; set; }
    public required string Summary { get; set; }
    public byte[]? Raw { get; set; }
}

public sealed record InboxResult(int Read, int Hard, int Soft, int Complaints, int Informational, int Unmatched, int Unparseable, int AlreadyRecorded);

/// <summary>
/// Records what arrives in the bounce mailbox and acts on it: a hard bounce suppresses the address, a soft one is
/// counted on its delivery, a complaint suppresses and withdraws marketing consent (as the feedback webhook does).
/// A report is tied to its delivery by our VERP return path (HMAC-checked), or by the original message's delivery
/// header together with its Message-ID as we stored it (so a forged report cannot name someone else's delivery).
/// Anything unreadable or unmatched is kept and counted, never dropped.
/// </summary>
public sealed class BounceInbox(RetentionDb db, ReturnPaths returnPaths, SuppressionList suppressions, TimeProvider clock, IServiceScopeFactory scopes,
    ILogger<BounceInbox> log)
{
    /// <summary>Reads one message's bytes and records it; true when it was new.</summary>
    public async Task<(bool New, Bounce Bounce)> RecordAsync(byte[] raw, CancellationToken ct)
    {
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(raw));
        if (await db.Bounces.AsNoTracking().FirstOrDefaultAsync(b => b.Fingerprint == fingerprint, ct) is { } known) return (false, known);

        var report = BounceReport.Read(raw, CampaignSender.DeliveryHeader);
        var delivery = await MatchAsync(report, ct);
        var now = clock.GetUtcNow().UtcDateTime;
        var kind = BounceKinds.Of(report.Kind);
        var bounce = new Bounce
        {
            Fingerprint = fingerprint, ReceivedAt = now, Kind = kind, RunId = delivery?.RunId, CustomerId = delivery?.CustomerId,
            Status = report.Status, Summary = Trim(report.Summary, 1000),
            Raw = delivery is null || report.Kind == BounceKind.Unparseable ? raw : null,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        db.Bounces.Add(bounce);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another reading (the schedule on another node, or a reading asked for by hand) took it first.
            if (!await IsRecordedElsewhereAsync(fingerprint)) throw;
            db.ChangeTracker.Clear();
            return (false, bounce);
        }
        db.Entry(bounce).State = EntityState.Detached;
        if (delivery is { } d && report.Kind is BounceKind.Hard or BounceKind.Complaint)
        {
            var email = await db.Customers.Where(c => c.Id == d.CustomerId).Select(c => c.Email).FirstOrDefaultAsync(ct);
            if (email is not null && !string.IsNullOrEmpty(email))
            {
                var source = $"bounce mailbox, campaign run {d.RunId}";
                if (report.Kind == BounceKind.Hard)
                    await suppressions.AddAsync(db, email, SuppressionReasons.HardBounce, source, Trim(report.Summary, 500), now, ct);
                else
                {
                    await suppressions.AddAsync(db, email, SuppressionReasons.Complaint, source, Trim(report.Summary, 500), now, ct);
                    await SuppressionsApi.WithdrawAfterComplaintAsync(db, email, "bounce mailbox", now, now, ct);
                }
            }
        }
        await transaction.CommitAsync(ct);
        if (delivery is null && report.Kind != BounceKind.Informational)
            log.LogWarning("Bounce mailbox: a {Kind} message could not be tied to a delivery ({Summary}); it is kept as bounce {Id}.", kind, report.Summary, bounce.Id);
        return (true, bounce);
    }

    async Task<bool> IsRecordedElsewhereAsync(string fingerprint)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RetentionDb>().Bounces.AnyAsync(b => b.Fingerprint == fingerprint);
    }

    async Task<(long RunId, long CustomerId)?> MatchAsync(BounceReport report, CancellationToken ct)
    {
        foreach (var address in report.Addressees)
            if (returnPaths.Read(address) is { } named && await db.Deliveries.AnyAsync(d => d.RunId == named.RunId && d.CustomerId == named.CustomerId, ct))
                return named;
        // No return path of ours (a feedback loop sends to its own address): the quoted original names its delivery,
        // and its Message-ID, which only the recipient saw, must be the one we sent.
        if (report.OriginalDeliveryHeader is { } header && report.OriginalMessageId is { } messageId)
        {
            var parts = header.Trim().Split('-');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var run)
                && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var customer)
                && await db.Deliveries.AnyAsync(d => d.RunId == run && d.CustomerId == customer && d.MessageId == messageId, ct))
                return (run, customer);
        }
        return null;
    }

    static string Trim(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    /// <summary>Reads the mailbox once: records every message, then deletes it from the mailbox.</summary>
    public async Task<InboxResult> ReadMailboxAsync(BounceMailboxOptions options, CancellationToken ct)
    {
        var counts = new Dictionary<string, int>();
        var (read, unmatched, already) = (0, 0, 0);
        await using var mailbox = await BounceMailbox.OpenAsync(options, ct);
        foreach (var message in await mailbox.FetchAsync(ct))
        {
            var (isNew, bounce) = await RecordAsync(message.Raw, ct);
            read++;
            if (!isNew) already++;
            else
            {
                counts[bounce.Kind] = counts.GetValueOrDefault(bounce.Kind) + 1;
                if (bounce.RunId is null && bounce.Kind != BounceKinds.Unparseable && bounce.Kind != BounceKinds.Informational) unmatched++;
            }
            await mailbox.DeleteAsync(message, ct); // recorded (now or before): its bytes are ours now where they are needed
        }
        return new InboxResult(read, counts.GetValueOrDefault(BounceKinds.Hard), counts.GetValueOrDefault(BounceKinds.Soft),
            counts.GetValueOrDefault(BounceKinds.Complaint), counts.GetValueOrDefault(BounceKinds.Informational), unmatched,
            counts.GetValueOrDefault(BounceKinds.Unparseable), already);
    }
}

/// <summary>Reads the bounce mailbox on a schedule (<c>Mail:Bounces:PollInterval</c>); one node at a time.</summary>
[AutomaticRetry(Attempts = 0)] // the next reading comes at the next interval
[DisableConcurrentExecution(timeoutInSeconds: 10)]
public sealed class BouncePollJob(BounceInbox inbox, IOptions<BounceOptions> options, ILogger<BouncePollJob> log)
{
    [System.ComponentModel.DisplayName("Read the bounce mailbox")]
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var mailbox = options.Value.Mailbox;
        if (!mailbox.Enabled) return;
        try
        {
            var result = await inbox.ReadMailboxAsync(mailbox, cancellationToken);
            if (result.Read > 0) log.LogInformation("Bounce mailbox: {Result}", result);
        }
        catch (Exception e) when (BounceMailbox.IsUnreachable(e))
        {
            // The mailbox is unreachable or refuses us: nothing is lost, the next reading tries again.
            log.LogWarning("The bounce mailbox {Host} could not be read: {Error}", mailbox.Host, e.Message);
        }
    }
}
