using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Users;

/// <summary>One key of the key ring that protects sign-in cookies and antiforgery tokens.</summary>
public sealed class DataProtectionKey
{
    public long Id { get; set; }
    public string? FriendlyName { get; set; }
    public required string Xml { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>
/// The cookie and antiforgery keys in the app's database, so every node reads what any node wrote: a session
/// started on one node is valid on the others (behind a load balancer, or node 2 of the docker-compose file).
/// The keys are as readable as the rest of the database (on Linux the default file store keeps them in plain XML too).
/// </summary>
public sealed class SharedKeyRing(IServiceScopeFactory scopes) : IXmlRepository
{
    public static void AddSharedKeyRing(IServiceCollection services) =>
        services.AddOptions<KeyManagementOptions>().Configure<IServiceScopeFactory>((options, scopes) => options.XmlRepository = new SharedKeyRing(scopes));

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<RetentionDb>();
        return db.DataProtectionKeys.AsNoTracking().OrderBy(k => k.Id).Select(k => k.Xml).ToList().Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<RetentionDb>();
        db.DataProtectionKeys.Add(new DataProtectionKey
        {
            FriendlyName = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting), CreatedAt = DateTime.UtcNow,
        });
        db.SaveChanges();
    }
}
