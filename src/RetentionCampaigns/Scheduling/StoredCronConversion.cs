using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Scheduling;

/// <summary>
/// Converts campaign crons stored in Quartz's dialect (migration 0024 copied each into <c>quartz_cron</c>) to
/// Hangfire's. A row still holds its Quartz text while <c>cron = quartz_cron</c>: a Quartz cron always has a '?' in
/// a day field, which the conversion replaces, so a converted row never matches again and a second run (or node)
/// changes nothing. One that cannot be converted keeps its text; a scheduled campaign with it is paused with the reason.
/// </summary>
public static class StoredCronConversion
{
    public static async Task RunAsync(RetentionDb db, ILogger log, CancellationToken ct)
    {
        var pending = await db.Campaigns.Where(c => c.QuartzCron != null && c.Cron == c.QuartzCron).ToListAsync(ct);
        foreach (var campaign in pending)
        {
            var conversion = CronDialect.FromQuartz(campaign.QuartzCron!);
            var checkedCron = conversion.Cron is { } converted ? CronSchedule.Parse(converted) : null;
            if (checkedCron is { Error: null })
            {
                log.LogInformation("Campaign {CampaignId}: Quartz cron '{Quartz}' is now '{Cron}'.", campaign.Id, campaign.QuartzCron, conversion.Cron);
                campaign.Cron = conversion.Cron;
                continue;
            }
            var problem = conversion.Problem ?? checkedCron?.Error;
            log.LogWarning("Campaign {CampaignId}: Quartz cron '{Quartz}' could not be converted: {Problem}", campaign.Id, campaign.QuartzCron, problem);
            if (campaign.State == CampaignStates.Scheduled && CampaignStates.Allowed(campaign.State, "pause", out var paused))
                (campaign.State, campaign.StateReason, campaign.UpdatedAt) = (paused,
                    $"its schedule could not be moved to the new scheduler ({problem}); set a new schedule, then resume.", DateTime.UtcNow);
        }
        await db.SaveChangesAsync(ct);
    }
}
