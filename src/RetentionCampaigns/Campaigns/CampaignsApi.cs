using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;
using RetentionCampaigns.Preferences;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Campaigns;

public sealed record SenderInput(string? Name, string? Email, string? ReplyTo);
public sealed record ScheduleInput(string? Kind, DateTimeOffset? SendAt, string? Cron, string? TimeZone);
public sealed record CampaignInput(string? Name, string? Description, long? SegmentId, string? TemplateKey, string? DefaultLocale,
    SenderInput? Sender, ScheduleInput? Schedule, DateTimeOffset? ActiveFrom, DateTimeOffset? ActiveUntil, int? HoldoutPercent, int? Priority,
    CampaignPolicy? Policy, CampaignOffer? Offer, string? Topic);

public sealed record CampaignItem(long Id, string Name, string? Description, string State, string? StateReason, IEnumerable<string> Actions, long SegmentId,
    string TemplateKey, string DefaultLocale, SenderInput Sender, ScheduleInput Schedule, DateTime? ActiveFrom, DateTime? ActiveUntil,
    int HoldoutPercent, int Priority, CampaignPolicy Policy, CampaignOffer? Offer, string? Topic, DateTime CreatedAt, DateTime UpdatedAt,
    SendForecast? Forecast = null, IReadOnlyList<string>? Warnings = null)
{
    /// <summary>A recurring campaign's next five slots (UTC) within its active period, as the scheduler will fire them.</summary>
    public IReadOnlyList<DateTime>? NextRuns { get; init; }
}

public sealed record RunReport(long Id, DateTime Slot, string State, int SegmentVersion, int TemplateVersion, int Members,
    Dictionary<string, int> Statuses, List<ReasonCount> Reasons, DateTime StartedAt, DateTime? FinishedAt, double? DurationSeconds, double? MessagesPerSecond,
    int CouponsIssued, int CouponsRedeemed, RunBounces Bounces);
/// <summary>What came back from the bounce mailbox for the run's messages (each report once).</summary>
public sealed record RunBounces(int Hard, int Soft, int Complaints);
public sealed record DeliveryWhy(string CustomerId, long RunId, string Status, string? Reason, int HoldoutBucket, int HoldoutPercent,
    int Attempts, DateTime? NotBefore, string? MessageId, string? Reply, DateTime UpdatedAt, List<BounceNote> Bounces);
public sealed record BounceNote(DateTime ReceivedAt, string Kind, string? Status, string Summary);

public static partial class CampaignsApi
{
    public static RouteGroupBuilder MapCampaigns(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/campaigns").WithTags("Campaigns");
        group.MapGet("/", List).WithSummary("All campaigns with their state and the actions their state allows.");
        group.MapPost("/", Create).WithSummary("Create a campaign as a draft.");
        group.MapGet("/{id:long}", Get).WithSummary("One campaign.");
        group.MapPut("/{id:long}", Update).WithSummary("Change a draft (or a paused campaign's rules).");
        group.MapDelete("/{id:long}", Delete).WithSummary("Delete a draft; other campaigns are cancelled instead, keeping their history.");
        group.MapGet("/{id:long}/runs", Runs).WithSummary("The campaign's runs, newest first, each with its count per delivery status.");
        group.MapGet("/{id:long}/runs/{runId:long}", Run).WithSummary("One run's report: counts per status, duration and rate.");
        group.MapRunDeliveries();
        group.MapGet("/{id:long}/runs/{runId:long}/why/{customerId}", Why).WithSummary("What happened to one customer in one run, and why.");
        foreach (var action in CampaignStates.Actions.Where(a => !CampaignStates.Internal.Contains(a)))
            group.MapPost($"/{{id:long}}/{action}", (long id, RetentionDb db, CampaignSchedules schedules, TimeProvider clock, CancellationToken ct) =>
                    TransitionAsync(id, action, db, schedules, clock, ct))
                .WithSummary($"Campaign action '{action}'; 409 when the campaign's state does not allow it.");
        return group;
    }

    static async Task<List<CampaignItem>> List(RetentionDb db, CancellationToken ct)
    {
        var campaigns = await db.Campaigns.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
        var keys = await db.Templates.AsNoTracking().ToDictionaryAsync(t => t.Id, t => t.Key, ct);
        return campaigns.Select(c => AsItem(c, keys[c.TemplateId])).ToList();
    }

    static async Task<Results<Ok<CampaignItem>, ProblemHttpResult>> Get(long id, RetentionDb db, TimeProvider clock, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null) return NotFound(id);
        var forecast = SendForecast.NextSend(campaign, clock.GetUtcNow().UtcDateTime) is { } at ? await SendForecast.ForAsync(db, campaign, at, ct) : null;
        var templateKey = await TemplateKeyAsync(db, campaign, ct);
        return TypedResults.Ok(AsItem(campaign, templateKey, forecast) with { Warnings = await WarningsAsync(db, campaign, templateKey, ct) });
    }

    /// <summary>What will not go wrong loudly but look wrong to customers: offer texts printing empty without an offer.</summary>
    static async Task<IReadOnlyList<string>> WarningsAsync(RetentionDb db, Campaign campaign, string key, CancellationToken ct)
    {
        if (campaign.Offer is not null) return [];
        // The version a run would send: the newest valid one.
        var version = await db.TemplateVersions.AsNoTracking().Where(v => v.TemplateId == campaign.TemplateId && v.Valid)
            .OrderByDescending(v => v.Version).FirstOrDefaultAsync(ct);
        if (version is null) return [];
        var warnings = new List<string>();
        foreach (var (locale, content) in version.Content.OrderBy(c => c.Key, StringComparer.Ordinal))
            foreach (var (part, source) in new[] { ("subject", content.Subject), ("html", content.Html), ("text", content.Text) })
                if (source is not null && TemplateChecker.UnguardedOfferUses(source) is [var (line, column), ..])
                    warnings.Add($"Template '{key}' ({locale} {part}, line {line}, column {column}) shows the offer, but this campaign gives none: " +
                                 "it prints nothing there. Add an offer to the campaign, or put that text inside {{ if offer }} ... {{ end }}.");
        return warnings;
    }

    static async Task<Results<Created<CampaignItem>, ValidationProblem, ProblemHttpResult>> Create(
        CampaignInput input, RetentionDb db, IOptions<ShopOptions> shop, IOptions<PreferenceOptions> topics, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var campaign = new Campaign { Name = "", ScheduleKind = "once", TimeZone = shop.Value.TimeZone, CreatedAt = now, UpdatedAt = now };
        var errors = new ValidationErrors();
        var templateKey = await ApplyAsync(campaign, input, creating: true, errors, db, topics.Value, ct);
        if (errors.Any) return errors.ToProblem();
        if (await NameTakenAsync(db, campaign.Name, null, ct)) return Problems.Conflict("name", $"a campaign named '{campaign.Name}' exists already.");
        db.Campaigns.Add(campaign);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/campaigns/{campaign.Id}", AsItem(campaign, templateKey!) with { Warnings = await WarningsAsync(db, campaign, templateKey!, ct) });
    }

    static async Task<Results<Ok<CampaignItem>, ValidationProblem, ProblemHttpResult>> Update(
        long id, CampaignInput input, RetentionDb db, IOptions<PreferenceOptions> topics, TimeProvider clock, CancellationToken ct)
    {
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null) return NotFound(id);
        if (!CampaignStates.Editable(campaign.State))
            return Problems.Conflict("state", $"a {campaign.State} campaign cannot be changed; pause it first.");
        var errors = new ValidationErrors();
        if (campaign.State == CampaignStates.Paused && (input.SegmentId is not null || input.TemplateKey is not null))
            errors.Add(input.SegmentId is not null ? "segmentId" : "templateKey", "cannot change while the campaign has runs under way; cancel it and create a new one.");
        var templateKey = await ApplyAsync(campaign, input, creating: false, errors, db, topics.Value, ct) ?? await TemplateKeyAsync(db, campaign, ct);
        if (errors.Any) return errors.ToProblem();
        if (input.Name is not null && await NameTakenAsync(db, campaign.Name, id, ct)) return Problems.Conflict("name", $"a campaign named '{campaign.Name}' exists already.");
        if (db.ChangeTracker.HasChanges()) campaign.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(AsItem(campaign, templateKey) with { Warnings = await WarningsAsync(db, campaign, templateKey, ct) });
    }

    static async Task<Results<NoContent, ProblemHttpResult>> Delete(long id, RetentionDb db, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null) return NotFound(id);
        if (campaign.State != CampaignStates.Draft)
            return Problems.Conflict("state", $"only a draft can be deleted; this campaign is {campaign.State}. Cancel it instead: its runs stay on record.");
        await db.Campaigns.Where(c => c.Id == id).ExecuteDeleteAsync(ct);
        return TypedResults.NoContent();
    }

    static async Task<Results<Ok<CampaignItem>, ValidationProblem, ProblemHttpResult>> TransitionAsync(
        long id, string action, RetentionDb db, CampaignSchedules schedules, TimeProvider clock, CancellationToken ct)
    {
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null) return NotFound(id);
        var now = clock.GetUtcNow().UtcDateTime;
        // Resuming a campaign paused mid-run carries on with that run; otherwise it waits for its schedule.
        var openRun = action == "resume" && campaign.State == CampaignStates.Paused
            ? await db.CampaignRuns.Where(r => r.CampaignId == id && (r.State == RunStates.Paused || r.State == RunStates.Sending))
                .OrderByDescending(r => r.Slot).FirstOrDefaultAsync(ct)
            : null;
        if (openRun is not null) action = "continue";
        if (!CampaignStates.Allowed(campaign.State, action, out var next))
        {
            var actions = CampaignStates.ActionsFrom(campaign.State).Where(a => !CampaignStates.Internal.Contains(a)).DefaultIfEmpty("nothing");
            return Problems.Conflict("state", $"a {campaign.State} campaign cannot '{action}'; it can: {string.Join(", ", actions)}.");
        }
        if (action is "schedule" or "resume" or "run-now" && await ReadinessProblemAsync(campaign, db, clock, ct, runNow: action == "run-now") is { } problem) return problem;
        (campaign.State, campaign.StateReason, campaign.UpdatedAt) = (next, null, now);
        await db.SaveChangesAsync(ct);
        if (action == "cancel") await CampaignRuns.CancelOpenRunsAsync(db, id, now, ct);
        // An open run shows its campaign's pause.
        if (next == CampaignStates.Paused) await CampaignRuns.MoveOpenRunsAsync(db, id, RunStates.Sending, RunStates.Paused, ct);
        if (openRun is not null) await CampaignRuns.MoveOpenRunsAsync(db, id, RunStates.Paused, RunStates.Sending, ct);
        // A one-off campaign run now gets no trigger for its planned time (RunNowAsync removes one left from before).
        if (action != "run-now" || campaign.ScheduleKind != "once") await schedules.SyncAsync(campaign, ct);
        if (openRun is not null) schedules.StartSenders(openRun.Id);
        SendForecast? forecast = null;
        if (action == "run-now")
        {
            // An extra run now; a one-off campaign keeps its planned time on record but is sent now instead.
            forecast = await SendForecast.ForAsync(db, campaign, now, ct);
            await schedules.RunNowAsync(campaign, now, ct);
        }
        return TypedResults.Ok(AsItem(campaign, await TemplateKeyAsync(db, campaign, ct), forecast));
    }

    static async Task<Results<Ok<List<RunReport>>, ProblemHttpResult>> Runs(long id, RetentionDb db, CancellationToken ct)
    {
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct)) return NotFound(id);
        var runs = await db.CampaignRuns.AsNoTracking().Where(r => r.CampaignId == id).OrderByDescending(r => r.Slot).ToListAsync(ct);
        var reports = new List<RunReport>();
        foreach (var run in runs) reports.Add(await ReportAsync(db, run, ct));
        return TypedResults.Ok(reports);
    }

    static async Task<Results<Ok<RunReport>, ProblemHttpResult>> Run(long id, long runId, RetentionDb db, CancellationToken ct)
    {
        var run = await db.CampaignRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId && r.CampaignId == id, ct);
        return run is null ? RunNotFound(id, runId) : TypedResults.Ok(await ReportAsync(db, run, ct));
    }

    static async Task<Results<Ok<DeliveryWhy>, ProblemHttpResult>> Why(long id, long runId, string customerId, RetentionDb db, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null) return NotFound(id);
        if (!await db.CampaignRuns.AnyAsync(r => r.Id == runId && r.CampaignId == id, ct)) return RunNotFound(id, runId);
        var customer = await db.Customers.AsNoTracking().Where(c => c.ExternalId == customerId).Select(c => (long?)c.Id).FirstOrDefaultAsync(ct);
        if (customer is null) return Customers.CustomersApi.NotFound(customerId);
        var delivery = await db.Deliveries.AsNoTracking().FirstOrDefaultAsync(d => d.RunId == runId && d.CustomerId == customer, ct);
        if (delivery is null)
            return TypedResults.Problem(title: "Not in this run.", detail: $"Customer '{customerId}' was not a member of the segment when run {runId} took its snapshot.", statusCode: 404);
        var bounces = await db.Bounces.AsNoTracking().Where(b => b.RunId == runId && b.CustomerId == customer).OrderBy(b => b.Id)
            .Select(b => new BounceNote(b.ReceivedAt, b.Kind, b.Status, b.Summary)).ToListAsync(ct);
        return TypedResults.Ok(new DeliveryWhy(customerId, runId, delivery.Status, delivery.Reason, CampaignRuns.HoldoutBucket(id, customer.Value),
            campaign.HoldoutPercent, delivery.Attempts, delivery.NotBefore, delivery.MessageId, delivery.Reply, delivery.UpdatedAt, bounces));
    }

    static async Task<RunReport> ReportAsync(RetentionDb db, CampaignRun run, CancellationToken ct)
    {
        var reasons = await RunDeliveries.ReasonsAsync(db, run.Id, ct);
        var statuses = reasons.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Sum(r => r.Count));
        double? duration = run.FinishedAt is { } end ? (end - run.StartedAt).TotalSeconds : null;
        var sent = statuses.GetValueOrDefault(DeliveryStatuses.Sent);
        var coupons = db.Coupons.Where(c => c.IssuedFor == CampaignSender.CouponsIssuedFor(run.Id));
        var bounces = await db.Bounces.Where(b => b.RunId == run.Id).GroupBy(b => b.Kind).Select(g => new { Kind = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.Kind, g => g.Count, ct);
        return new RunReport(run.Id, run.Slot, run.State, run.SegmentVersion, run.TemplateVersion, run.Members, statuses, reasons, run.StartedAt, run.FinishedAt,
            duration, duration is > 0 ? Math.Round(sent / duration.Value, 1) : null,
            await coupons.CountAsync(ct), await coupons.CountAsync(c => c.RedeemedAt != null, ct),
            new RunBounces(bounces.GetValueOrDefault(Bounces.BounceKinds.Hard), bounces.GetValueOrDefault(Bounces.BounceKinds.Soft),
                bounces.GetValueOrDefault(Bounces.BounceKinds.Complaint)));
    }

    internal static ProblemHttpResult RunNotFound(long id, long runId) =>
        TypedResults.Problem(title: "Run not found.", detail: $"Campaign {id} has no run {runId}.", statusCode: 404);

    /// <summary>What stops a campaign from being scheduled: a template with errors, a send time or active period in the past.</summary>
    static async Task<ProblemHttpResult?> ReadinessProblemAsync(Campaign campaign, RetentionDb db, TimeProvider clock, CancellationToken ct, bool runNow = false)
    {
        var errors = new ValidationErrors();
        var now = clock.GetUtcNow().UtcDateTime;
        var template = await db.Templates.AsNoTracking().FirstAsync(t => t.Id == campaign.TemplateId, ct);
        var version = await db.TemplateVersions.AsNoTracking().FirstAsync(v => v.TemplateId == template.Id && v.Version == template.Version, ct);
        if (!version.Valid)
            errors.Add("templateKey", $"version {version.Version} of template '{template.Key}' has errors; a template with errors cannot be used by a campaign.");
        if (template.Kind != TemplateKinds.Marketing)
            errors.Add("templateKey", $"'{template.Key}' is a {template.Kind} template; campaigns send marketing templates.");
        if (campaign.ScheduleKind == "once" && !runNow && campaign.SendAt < now.AddMinutes(-1))
            errors.Add("schedule.sendAt", "lies in the past; choose a new time.");
        if (campaign.ActiveUntil is { } until && until <= now)
            errors.Add("activeUntil", "the active period is over.");
        else if (campaign.ScheduleKind == "cron" && NextRuns(campaign, now, 1) is [])
            errors.Add("schedule.cron", "has no slot within the campaign's active period; it would never send.");
        if (campaign.Offer is { Codes: "pool" } && !await db.Coupons.AnyAsync(c => c.Pool == CouponsApi.CampaignPool(campaign.Id) && c.IssuedAt == null, ct))
            errors.Add("offer.codes", $"the campaign's coupon pool is empty; upload codes first (POST /api/campaigns/{campaign.Id}/coupons).");
        return errors.Any ? errors.ToProblem(422, "The campaign cannot be scheduled.") : null;
    }

    /// <summary>Validates the input onto the campaign; returns the template key when one was given and found.</summary>
    static async Task<string?> ApplyAsync(Campaign campaign, CampaignInput input, bool creating, ValidationErrors errors, RetentionDb db,
        PreferenceOptions topics, CancellationToken ct)
    {
        var name = creating ? errors.Required("name", input.Name, 200) : errors.Optional("name", input.Name, 200);
        if (name is not null) campaign.Name = name;
        if (input.Description is not null) campaign.Description = errors.Optional("description", input.Description, 2000);

        if (input.SegmentId is { } segmentId)
        {
            if (await db.Segments.AnyAsync(s => s.Id == segmentId, ct)) campaign.SegmentId = segmentId;
            else errors.Add("segmentId", $"no segment has the id {segmentId}.");
        }
        else if (creating) errors.Add("segmentId", "is required.");

        string? templateKey = null;
        if (input.TemplateKey is { } key)
        {
            var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key, ct);
            if (template is null) errors.Add("templateKey", $"no template has the key '{key}'.");
            else (campaign.TemplateId, templateKey) = (template.Id, template.Key);
        }
        else if (creating) errors.Add("templateKey", "is required.");

        if (input.DefaultLocale is { } locale)
        {
            if (LocaleFormat.IsSupported(locale)) campaign.DefaultLocale = locale;
            else errors.Add("defaultLocale", "must be de or en.");
        }
        if (input.Sender is { } sender)
        {
            campaign.SenderName = errors.Optional("sender.name", sender.Name, 200);
            campaign.SenderEmail = Email(errors, "sender.email", sender.Email);
            campaign.ReplyTo = Email(errors, "sender.replyTo", sender.ReplyTo);
        }
        if (input.Schedule is { } schedule) ApplySchedule(campaign, schedule, errors);
        else if (creating) errors.Add("schedule", "is required: {\"kind\": \"once\", \"sendAt\": ...} or {\"kind\": \"cron\", \"cron\": \"0 0 9 ? * MON\", \"timeZone\": \"Europe/Berlin\"}.");

        if (input.ActiveFrom is not null) campaign.ActiveFrom = input.ActiveFrom.Value.UtcDateTime;
        if (input.ActiveUntil is not null) campaign.ActiveUntil = input.ActiveUntil.Value.UtcDateTime;
        if (campaign.ActiveFrom is { } from && campaign.ActiveUntil is { } until && until <= from)
            errors.Add("activeUntil", "must be after activeFrom.");
        errors.Range("holdoutPercent", input.HoldoutPercent, 0, 50);
        if (input.HoldoutPercent is { } holdout) campaign.HoldoutPercent = holdout;
        errors.Range("priority", input.Priority, -100, 100);
        if (input.Priority is { } priority) campaign.Priority = priority;
        if (input.Policy is { } policy && ValidPolicy(policy, errors)) campaign.Policy = policy;
        if (input.Offer is { } offer && offer.IsValid("offer", errors)) campaign.Offer = offer;
        if (input.Topic is { } topic)
        {
            var known = topics.EffectiveTopics.Select(t => t.Key).ToList();
            if (topic.Length == 0) campaign.Topic = null;
            else if (known.Contains(topic)) campaign.Topic = topic;
            else errors.Add("topic", $"must be one of the preference centre's topics: {string.Join(", ", known)} (Preferences__Topics), or empty for none.");
        }
        return templateKey;
    }

    static void ApplySchedule(Campaign campaign, ScheduleInput schedule, ValidationErrors errors)
    {
        var zone = schedule.TimeZone ?? campaign.TimeZone;
        if (!FieldRules.IsTimeZone(zone)) errors.Add("schedule.timeZone", $"'{zone}' is not an IANA time zone such as Europe/Berlin.");
        else campaign.TimeZone = zone;
        switch (schedule.Kind)
        {
            case "once":
                if (schedule.SendAt is null) errors.Add("schedule.sendAt", "is required for a one-off campaign.");
                (campaign.ScheduleKind, campaign.SendAt, campaign.Cron) = ("once", schedule.SendAt?.UtcDateTime, null);
                break;
            case "cron":
                if (string.IsNullOrWhiteSpace(schedule.Cron)) errors.Add("schedule.cron", "is required for a recurring campaign (e.g. \"0 9 * * MON\": Mondays at 09:00).");
                else if (Scheduling.CronSchedule.Parse(schedule.Cron) is { Error: { } problem }) errors.Add("schedule.cron", problem);
                else (campaign.ScheduleKind, campaign.Cron, campaign.SendAt) = ("cron", schedule.Cron.Trim(), null);
                break;
            default:
                errors.Add("schedule.kind", "must be once or cron.");
                break;
        }
    }

    static bool ValidPolicy(CampaignPolicy policy, ValidationErrors errors)
    {
        var before = errors.Total;
        errors.Range("policy.frequencyCap", policy.FrequencyCap, 1, 100);
        errors.Range("policy.frequencyWindowDays", policy.FrequencyWindowDays, 1, 90);
        if (policy.OnCap is not ("defer" or "skip")) errors.Add("policy.onCap", "must be defer or skip.");
        if (policy.HasQuietHours && (!IsClock(policy.QuietFrom) || !IsClock(policy.QuietUntil)))
            errors.Add(IsClock(policy.QuietFrom) ? "policy.quietUntil" : "policy.quietFrom",
                "quiet hours are two times \"HH:mm\" (quietFrom and quietUntil), or both null or \"off\" for none.");
        errors.Range("policy.repeatAfterDays", policy.RepeatAfterDays, 0, 365);
        errors.Range("policy.ratePerMinute", policy.RatePerMinute, 0, 1_000_000);
        errors.Range("policy.validityHours", policy.ValidityHours, 1, 720);
        return errors.Total == before;
    }

    static bool IsClock(string value) => TimeOnly.TryParseExact(value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    static string? Email(ValidationErrors errors, string path, string? value)
    {
        var email = errors.Optional(path, value, 254);
        if (email is not null && !FieldRules.IsEmail(email)) { errors.Add(path, "is not a valid email address."); return null; }
        return email;
    }

    static Task<bool> NameTakenAsync(RetentionDb db, string name, long? except, CancellationToken ct) =>
        db.Campaigns.AnyAsync(c => c.Name.ToLower() == name.ToLower() && c.Id != except, ct);

    static Task<string> TemplateKeyAsync(RetentionDb db, Campaign campaign, CancellationToken ct) =>
        db.Templates.Where(t => t.Id == campaign.TemplateId).Select(t => t.Key).FirstAsync(ct);

    static CampaignItem AsItem(Campaign c, string templateKey, SendForecast? forecast = null) => new(c.Id, c.Name, c.Description, c.State, c.StateReason, CampaignStates.ActionsFrom(c.State).Where(a => !CampaignStates.Internal.Contains(a)),
        c.SegmentId, templateKey, c.DefaultLocale, new SenderInput(c.SenderName, c.SenderEmail, c.ReplyTo),
        new ScheduleInput(c.ScheduleKind, c.SendAt is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null, c.Cron, c.TimeZone),
        c.ActiveFrom, c.ActiveUntil, c.HoldoutPercent, c.Priority, c.Policy, c.Offer, c.Topic, c.CreatedAt, c.UpdatedAt, forecast)
    {
        NextRuns = c.ScheduleKind == "cron" ? NextRuns(c, DateTime.UtcNow, 5) : null,
    };

    /// <summary>The slots a recurring campaign fires for next, within its active period (Hangfire's own parser and zone rules).</summary>
    public static IReadOnlyList<DateTime> NextRuns(Campaign c, DateTime now, int count)
    {
        if (Scheduling.CronSchedule.Parse(c.Cron).Schedule is not { } cron || !TimeZoneInfo.TryFindSystemTimeZoneById(c.TimeZone, out var zone)) return [];
        var from = c.ActiveFrom is { } start && start > now ? start.AddTicks(-1) : now;
        return cron.Next(from, zone, count, c.ActiveUntil);
    }

    static ProblemHttpResult NotFound(long id) => TypedResults.Problem(title: "Campaign not found.", detail: $"No campaign has the id {id}.", statusCode: 404);
}
