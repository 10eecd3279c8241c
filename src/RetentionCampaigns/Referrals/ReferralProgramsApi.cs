using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Api;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Referrals;

public sealed record ReferralProgramInput(string? Name, bool? Active, CampaignOffer? FriendOffer, CampaignOffer? ReferrerReward,
    decimal? QualifyingMinimum, int? ReviewDays, int? MaxRewardsPerReferrer, int? RewardPeriodDays);

public sealed record ReferralProgramItem(long Id, string Name, bool Active, CampaignOffer FriendOffer, CampaignOffer ReferrerReward,
    decimal QualifyingMinimum, int ReviewDays, int MaxRewardsPerReferrer, int RewardPeriodDays, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>Referral programs: the friend's offer, the referrer's reward and the rules; activating one deactivates the others.</summary>
public static class ReferralProgramsApi
{
    public static string Pool(long programId, string side) => $"referral:{programId}:{side}";

    public static RouteGroupBuilder MapReferralPrograms(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/referral-programs").WithTags("Referrals");
        group.MapPost("/", Create).WithSummary("Create a referral program (active: true makes it the one in effect).");
        group.MapGet("/", List).WithSummary("All referral programs.");
        group.MapGet("/{id:long}", Get).WithSummary("One referral program.");
        group.MapPut("/{id:long}", Update).WithSummary("Change a program; fields left out stay as they are.");
        group.MapPost("/{id:long}/coupons/{side}", Upload)
            .WithSummary("Add codes to the pool of the friend's offer or the referrer's reward (side: friend or referrer; codes: pool).");
        return group;
    }

    static async Task<Results<Created<ReferralProgramItem>, ValidationProblem, ProblemHttpResult>> Create(ReferralProgramInput input, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var program = new ReferralProgram
        {
            Name = "", FriendOffer = new CampaignOffer { Codes = "generated" }, ReferrerReward = new CampaignOffer { Codes = "generated" },
            CreatedAt = now, UpdatedAt = now,
        };
        var errors = new ValidationErrors();
        Apply(program, input, creating: true, errors);
        if (errors.Any) return errors.ToProblem();
        if (await db.ReferralPrograms.AnyAsync(p => p.Name == program.Name, ct)) return Problems.Conflict("name", $"a referral program named '{program.Name}' exists already.");
        await SaveAsync(db, program, ct);
        return TypedResults.Created($"/api/referral-programs/{program.Id}", AsItem(program));
    }

    static async Task<List<ReferralProgramItem>> List(RetentionDb db, CancellationToken ct) =>
        (await db.ReferralPrograms.AsNoTracking().OrderBy(p => p.Id).ToListAsync(ct)).Select(AsItem).ToList();

    static async Task<Results<Ok<ReferralProgramItem>, ProblemHttpResult>> Get(long id, RetentionDb db, CancellationToken ct) =>
        await db.ReferralPrograms.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct) is { } program ? TypedResults.Ok(AsItem(program)) : NotFound(id);

    static async Task<Results<Ok<ReferralProgramItem>, ValidationProblem, ProblemHttpResult>> Update(long id, ReferralProgramInput input, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var program = await db.ReferralPrograms.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (program is null) return NotFound(id);
        var errors = new ValidationErrors();
        Apply(program, input, creating: false, errors);
        if (errors.Any) return errors.ToProblem();
        if (await db.ReferralPrograms.AnyAsync(p => p.Name == program.Name && p.Id != id, ct)) return Problems.Conflict("name", $"a referral program named '{program.Name}' exists already.");
        program.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        await SaveAsync(db, program, ct);
        return TypedResults.Ok(AsItem(program));
    }

    static async Task<Results<Ok<CouponUploadResult>, ValidationProblem, ProblemHttpResult>> Upload(long id, string side, CouponUpload input, RetentionDb db,
        TimeProvider clock, CancellationToken ct)
    {
        if (!await db.ReferralPrograms.AnyAsync(p => p.Id == id, ct)) return NotFound(id);
        if (side is not ("friend" or "referrer"))
        {
            var errors = new ValidationErrors();
            errors.Add("side", "must be friend or referrer.");
            return errors.ToProblem();
        }
        return await CouponsApi.UploadAsync(db, Pool(id, side), input, clock.GetUtcNow().UtcDateTime, ct);
    }

    /// <summary>One active program at a time: activating this one deactivates the others in the same transaction.</summary>
    static async Task SaveAsync(RetentionDb db, ReferralProgram program, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (program.Active)
            await db.ReferralPrograms.Where(p => p.Active && p.Id != program.Id).ExecuteUpdateAsync(u => u.SetProperty(p => p.Active, false), ct);
        if (program.Id == 0) db.ReferralPrograms.Add(program);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
    }

    static void Apply(ReferralProgram program, ReferralProgramInput input, bool creating, ValidationErrors errors)
    {
        var name = creating ? errors.Required("name", input.Name, 200) : errors.Optional("name", input.Name, 200);
        if (name is not null) program.Name = name;
        if (input.Active is { } active) program.Active = active;
        if (input.FriendOffer is { } friend) { if (friend.IsValid("friendOffer", errors)) program.FriendOffer = friend; }
        else if (creating) errors.Add("friendOffer", "is required: what a referred friend gets, e.g. {\"codes\": \"generated\", \"value\": 10}.");
        if (input.ReferrerReward is { } reward) { if (reward.IsValid("referrerReward", errors)) program.ReferrerReward = reward; }
        else if (creating) errors.Add("referrerReward", "is required: what the referrer gets, e.g. {\"codes\": \"generated\", \"value\": 10}.");
        if (input.QualifyingMinimum is { } minimum)
        {
            if (minimum < 0 || FieldRules.ToMinorUnits(minimum) is not { } minor) errors.Add("qualifyingMinimum", "must be an amount of zero or more with at most two decimals.");
            else program.QualifyingMinimumMinor = minor;
        }
        errors.Range("reviewDays", input.ReviewDays, 0, 365);
        errors.Range("maxRewardsPerReferrer", input.MaxRewardsPerReferrer, 1, 10_000);
        errors.Range("rewardPeriodDays", input.RewardPeriodDays, 1, 3_650);
        if (input.ReviewDays is { } review) program.ReviewDays = review;
        if (input.MaxRewardsPerReferrer is { } max) program.MaxRewardsPerReferrer = max;
        if (input.RewardPeriodDays is { } period) program.RewardPeriodDays = period;
    }

    static ReferralProgramItem AsItem(ReferralProgram p) => new(p.Id, p.Name, p.Active, p.FriendOffer, p.ReferrerReward,
        FieldRules.FromMinorUnits(p.QualifyingMinimumMinor), p.ReviewDays, p.MaxRewardsPerReferrer, p.RewardPeriodDays, p.CreatedAt, p.UpdatedAt);

    static ProblemHttpResult NotFound(long id) => TypedResults.Problem(title: "Referral program not found.", detail: $"No referral program has the id {id}.", statusCode: 404);
}
