using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Suppressions;

namespace RetentionCampaigns.Privacy;

public sealed record ErasureResult(string ErasedAs, DateTime ErasedAt, int Orders, int SurveyComments, int ConsentEvents, int Deliveries, int ConsentWithdrawn);

/// <summary>
/// Erasure (GDPR Art. 17) of one customer, in one transaction: the address goes to the suppression list as a salted
/// hash (so a re-import of the person is never mailed), then names, address, attributes, tags, survey comments,
/// IP addresses and user agents, SMTP replies, preferences and sign-ups are removed. What stays is anonymous: the row with its
/// locale, time zone and country, orders and scores for the aggregates (KPIs, CLV), under a random id.
/// </summary>
public static class CustomerErasure
{
    /// <summary>The prefix of erased customers' and their orders' ids; the API refuses it for new customers.</summary>
    public const string ErasedIdPrefix = "erased:";

    const string Scrubbed = "[erased]";

    public static async Task<ErasureResult> EraseAsync(RetentionDb db, SuppressionList suppressions, Customer customer, string actor, DateTime now, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var id = customer.Id;
        var subject = customer.ExternalId;
        var addresses = new[] { customer.Email, SuppressionList.Normalize(customer.Email) }.Distinct().ToList();
        await suppressions.AddAsync(db, customer.Email, SuppressionReasons.Erased, "erasure", null, now, ct);
        foreach (var address in addresses)
        {
            // Provider replies and import error reports may quote the address; a no-op replace costs nothing.
            await db.Database.ExecuteSqlRawAsync("UPDATE suppressions SET detail = replace(detail, {0}, {1}) WHERE detail <> replace(detail, {0}, {1})", [address, Scrubbed], ct);
            await db.Database.ExecuteSqlRawAsync("UPDATE imports SET errors = replace(errors, {0}, {1}) WHERE errors <> replace(errors, {0}, {1})", [address, Scrubbed], ct);
        }

        // Withdraw what was granted, so the ledger's current state tells the truth about the shell too.
        var current = await ConsentApi.CurrentStateAsync(db, id, ct);
        var withdrawn = 0;
        foreach (var purpose in ConsentVocabulary.Purposes.Where(p => current[p].Status == "granted"))
        {
            db.ConsentEvents.Add(new ConsentEvent
            {
                CustomerId = id, Purpose = purpose, Status = "withdrawn", LawfulBasis = current[purpose].LawfulBasis ?? "consent",
                Source = "erasure", OccurredAt = now, RecordedAt = now,
            });
            withdrawn++;
        }
        customer.ExternalId = ErasedIdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        customer.Email = "";
        customer.FirstName = null;
        customer.LastName = null;
        customer.Tags = [];
        customer.Attributes = [];
        customer.ErasedAt = now;
        customer.UpdatedAt = now;
        await db.SaveChangesAsync(ct);

        var orders = await db.Orders.Where(o => o.CustomerId == id).ToListAsync(ct);
        foreach (var order in orders)
        {
            order.ExternalId = ErasedIdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
            order.PaymentFingerprint = null;
        }
        await db.SaveChangesAsync(ct);
        var comments = await db.SurveyAnswers.Where(a => a.CustomerId == id && a.Comment != null).ExecuteUpdateAsync(u => u.SetProperty(a => a.Comment, (string?)null), ct);
        var consentEvents = await db.ConsentEvents.Where(e => e.CustomerId == id && (e.IpAddress != null || e.UserAgent != null))
            .ExecuteUpdateAsync(u => u.SetProperty(e => e.IpAddress, (string?)null).SetProperty(e => e.UserAgent, (string?)null), ct);
        var deliveries = await db.Deliveries.Where(d => d.CustomerId == id && d.Reply != null).ExecuteUpdateAsync(u => u.SetProperty(d => d.Reply, (string?)null), ct);
        await db.CustomerPreferences.Where(p => p.CustomerId == id).ExecuteDeleteAsync(ct);
        // A bounce report quotes the address and the message: the count on the run stays, the words go.
        await db.Bounces.Where(b => b.CustomerId == id).ExecuteUpdateAsync(u => u.SetProperty(b => b.Summary, "erased").SetProperty(b => b.Raw, (byte[]?)null), ct);
        var normalized = SuppressionList.Normalize(addresses[0]);
        await db.Signups.Where(s => s.CustomerId == id || s.Email.ToLower() == normalized).ExecuteDeleteAsync(ct);
        // The referral link dies with the code; referrals stay for the counts, without the friend's IP address.
        await db.ReferralCodes.Where(c => c.CustomerId == id).ExecuteDeleteAsync(ct);
        await db.Referrals.Where(r => (r.FriendId == id || r.ReferrerId == id) && r.IpAddress != null)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.IpAddress, (string?)null), ct);

        var result = new ErasureResult(customer.ExternalId, now, orders.Count, comments, consentEvents, deliveries, withdrawn);
        db.AuditLog.Add(new AuditEntry
        {
            OccurredAt = now, Actor = actor, Action = AuditActions.Erasure, CustomerId = id, Subject = subject,
            Detail = $"anonymised as {result.ErasedAs}; {orders.Count} orders kept anonymously; {comments} survey comments, {consentEvents} consent IP/user agent records and {deliveries} SMTP replies removed; address suppressed",
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return result;
    }
}
