using System.Net;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Pages;

/// <summary>Issue 16, settings: the effective configuration, defaults included, secrets masked, for admins only.</summary>
public sealed class ConfigurationPageTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task AdminsSeeTheEffectiveConfigurationWithDefaultsAndSecretsMasked(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store, new Dictionary<string, string>
        {
            ["Mail:Smtp:Host"] = "relay.example.net", ["Mail:Smtp:UserName"] = "shop", ["Mail:Smtp:Password"] = "hunter2-relay-secret",
        });
        var (admin, _) = await UiBrowser.SignedInAsync(app, "root@shop.example", UserRoles.Admin);
        var response = await admin.GetAsync("/settings/configuration");
        var page = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, page);
        Assert.Contains("relay.example.net", page);
        Assert.DoesNotContain("hunter2-relay-secret", page);
        Assert.Contains("Mail:Smtp:Password", page);
        Assert.Contains("Metrics:ChurnAfterDays", page); // a default nobody set
        Assert.Contains("<code>180</code>", page);
        if (store == DatabaseProvider.Postgres) Assert.DoesNotContain("Password=postgres", page);

        var (analyst, _) = await UiBrowser.SignedInAsync(app, "ana@shop.example", UserRoles.Analyst);
        var refused = await analyst.GetAsync("/settings/configuration");
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.StartsWith("/account/denied", refused.Headers.Location!.PathAndQuery);
    }
}
