using System.Globalization;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Data;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Campaigns;

/// <summary>
/// A campaign as its previews and test emails show it: its name and its real offer (none when it gives none). The
/// coupon code is the pool's next free code (shown, not issued) or a sample with the campaign's prefix.
/// </summary>
public sealed record CampaignPreview(CampaignView View, OfferView? Offer)
{
    public static async Task<CampaignPreview?> ForAsync(RetentionDb db, long campaignId, ShopOptions shop, DateTime now, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == campaignId, ct);
        if (campaign is null) return null;
        var view = new CampaignView { Name = campaign.Name, Key = campaign.Id.ToString(CultureInfo.InvariantCulture) };
        if (campaign.Offer is not { } offer) return new CampaignPreview(view, null);
        var code = offer.Codes == "pool"
            ? await db.Coupons.Where(c => c.Pool == CouponsApi.CampaignPool(campaign.Id) && c.IssuedAt == null).OrderBy(c => c.Code).Select(c => c.Code).FirstOrDefaultAsync(ct)
            : null;
        var terms = offer.Terms();
        var sample = new Coupon
        {
            Code = code ?? $"{offer.Prefix}PREVIEW", Pool = "", Source = "", ValueMinor = terms.ValueMinor, PercentOff = terms.PercentOff,
            MinimumOrderMinor = terms.MinimumOrderMinor, ExpiresAt = now.AddDays(terms.ValidDays),
        };
        return new CampaignPreview(view, OfferView.For(sample, shop.Currency));
    }
}
