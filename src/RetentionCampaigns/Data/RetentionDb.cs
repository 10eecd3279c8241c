using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Imports;
using RetentionCampaigns.Links;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Segments;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Preferences;
using RetentionCampaigns.Privacy;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Signups;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Surveys;
using RetentionCampaigns.Templates;

namespace RetentionCampaigns.Data;

/// <summary>
/// The schema itself is owned by the versioned SQL scripts in Data/Migrations; this model only maps onto it.
/// </summary>
public sealed class RetentionDb(DbContextOptions<RetentionDb> options) : DbContext(options)
{
    public DbSet<Customer> Customers => Set<Customer>();
    public DbSet<Order> Orders => Set<Order>();
    public DbSet<OrderLine> OrderLines => Set<OrderLine>();
    public DbSet<SurveyAnswer> SurveyAnswers => Set<SurveyAnswer>();
    public DbSet<ConsentEvent> ConsentEvents => Set<ConsentEvent>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Demo.DemoSeed> DemoShop => Set<Demo.DemoSeed>();
    public DbSet<Users.User> Users => Set<Users.User>();
    public DbSet<ImportRun> ImportRuns => Set<ImportRun>();
    public DbSet<CustomerMetrics> CustomerMetrics => Set<CustomerMetrics>();
    public DbSet<Kpis.DashboardFigure> DashboardFigures => Set<Kpis.DashboardFigure>();
    public DbSet<MetricsRun> MetricsRuns => Set<MetricsRun>();
    public DbSet<Segment> Segments => Set<Segment>();
    public DbSet<SegmentVersion> SegmentVersions => Set<SegmentVersion>();
    public DbSet<MessageTemplate> Templates => Set<MessageTemplate>();
    public DbSet<TemplateVersion> TemplateVersions => Set<TemplateVersion>();
    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();
    public DbSet<LinkClick> LinkClicks => Set<LinkClick>();
    public DbSet<Campaign> Campaigns => Set<Campaign>();
    public DbSet<CampaignRun> CampaignRuns => Set<CampaignRun>();
    public DbSet<Delivery> Deliveries => Set<Delivery>();
    public DbSet<Suppression> Suppressions => Set<Suppression>();
    public DbSet<SuppressionSalt> SuppressionSalts => Set<SuppressionSalt>();
    public DbSet<Users.DataProtectionKey> DataProtectionKeys => Set<Users.DataProtectionKey>();
    public DbSet<Coupon> Coupons => Set<Coupon>();
    public DbSet<CustomerPreferences> CustomerPreferences => Set<CustomerPreferences>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<Signup> Signups => Set<Signup>();
    public DbSet<ReferralProgram> ReferralPrograms => Set<ReferralProgram>();
    public DbSet<ReferralCode> ReferralCodes => Set<ReferralCode>();
    public DbSet<ReferralVisit> ReferralVisits => Set<ReferralVisit>();
    public DbSet<Referral> Referrals => Set<Referral>();
    public DbSet<Bounces.Bounce> Bounces => Set<Bounces.Bounce>();

    public bool IsPostgres => Database.ProviderName == "Npgsql.EntityFrameworkCore.PostgreSQL";

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<Customer>(e =>
        {
            e.HasIndex(c => c.ExternalId).IsUnique();
            e.Property(c => c.Tags).HasConversion(JsonConversion.For<List<string>>(), JsonConversion.Comparer<List<string>>());
            e.Property(c => c.Attributes).HasConversion(JsonConversion.For<Dictionary<string, JsonElement>>(), JsonConversion.Comparer<Dictionary<string, JsonElement>>());
            e.HasMany(c => c.Orders).WithOne(o => o.Customer).HasForeignKey(o => o.CustomerId);
            e.HasMany(c => c.SurveyAnswers).WithOne().HasForeignKey(a => a.CustomerId);
            e.HasMany(c => c.ConsentEvents).WithOne().HasForeignKey(a => a.CustomerId);
        });
        model.Entity<Order>(e =>
        {
            e.HasIndex(o => o.ExternalId).IsUnique();
            e.HasMany(o => o.Lines).WithOne().HasForeignKey(l => l.OrderId);
        });
        model.Entity<OrderLine>().HasKey(l => new { l.OrderId, l.Sku });
        model.Entity<ImportRun>().ToTable("imports");
        model.Entity<SegmentVersion>().HasKey(v => new { v.SegmentId, v.Version });
        model.Entity<SigningKey>().Property(k => k.Id).ValueGeneratedNever();
        model.Entity<Demo.DemoSeed>().Property(k => k.Id).ValueGeneratedNever();
        model.Entity<Delivery>().HasKey(d => new { d.RunId, d.CustomerId });
        model.Entity<Suppression>().HasKey(s => s.AddressHash);
        model.Entity<Coupon>().HasKey(c => c.Code);
        model.Entity<Kpis.DashboardFigure>().HasKey(f => f.Name);
        model.Entity<AuditEntry>().ToTable("audit_log");
        model.Entity<Bounces.Bounce>().ToTable("bounces");
        model.Entity<ReferralCode>().HasKey(c => c.Code);
        model.Entity<ReferralProgram>(e =>
        {
            e.Property(p => p.FriendOffer).HasConversion(
                v => JsonSerializer.Serialize(v, JsonConversion.Options), s => JsonSerializer.Deserialize<CampaignOffer>(s, JsonConversion.Options)!);
            e.Property(p => p.ReferrerReward).HasConversion(
                v => JsonSerializer.Serialize(v, JsonConversion.Options), s => JsonSerializer.Deserialize<CampaignOffer>(s, JsonConversion.Options)!);
        });
        model.Entity<CustomerPreferences>(e =>
        {
            e.HasKey(p => p.CustomerId);
            e.Property(p => p.CustomerId).ValueGeneratedNever();
            e.Property(p => p.TopicsOptedOut).HasConversion(JsonConversion.For<List<string>>(), JsonConversion.Comparer<List<string>>());
        });
        model.Entity<SuppressionSalt>(e =>
        {
            e.ToTable("suppression_salt");
            e.Property(s => s.Id).ValueGeneratedNever();
        });
        model.Entity<Campaign>(e =>
        {
            e.Property(c => c.Policy).HasConversion(
                v => JsonSerializer.Serialize(v, JsonConversion.Options), s => JsonSerializer.Deserialize<CampaignPolicy>(s, JsonConversion.Options) ?? new CampaignPolicy());
            e.Property(c => c.Offer).HasConversion(
                v => JsonSerializer.Serialize(v, JsonConversion.Options), s => JsonSerializer.Deserialize<CampaignOffer>(s, JsonConversion.Options));
        });
        model.Entity<MessageTemplate>().HasIndex(t => t.Key).IsUnique();
        model.Entity<TemplateVersion>(e =>
        {
            e.HasKey(v => new { v.TemplateId, v.Version });
            e.Property(v => v.Content).HasConversion(JsonConversion.For<Dictionary<string, TemplateContent>>(), JsonConversion.Comparer<Dictionary<string, TemplateContent>>());
            e.Property(v => v.Problems).HasConversion(JsonConversion.For<List<TemplateFinding>>(), JsonConversion.Comparer<List<TemplateFinding>>());
            e.Property(v => v.FormerContent!).HasConversion(JsonConversion.For<Dictionary<string, TemplateContent>>(), JsonConversion.Comparer<Dictionary<string, TemplateContent>>());
        });
        model.Entity<CustomerMetrics>(e =>
        {
            e.ToTable("customer_metrics");
            e.HasKey(m => m.CustomerId);
        });

        foreach (var entity in model.Model.GetEntityTypes())
        {
            if (entity.GetTableName() is { } table && entity.ClrType != typeof(ImportRun) && entity.ClrType != typeof(CustomerMetrics))
                entity.SetTableName(SnakeCase(table));
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
                if (property.ClrType == typeof(DateTime)) property.SetValueConverter(UtcConverter);
                if (property.ClrType == typeof(DateTime?)) property.SetValueConverter(NullableUtcConverter);
            }
        }
    }

    // SQLite hands DateTime back as Unspecified; everything we store is UTC.
    static readonly ValueConverter<DateTime, DateTime> UtcConverter =
        new(v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
    static readonly ValueConverter<DateTime?, DateTime?> NullableUtcConverter =
        new(v => v, v => v == null ? v : DateTime.SpecifyKind(v.Value, DateTimeKind.Utc));

    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}

/// <summary>Tags and custom attributes are stored as JSON text, the same on both providers.</summary>
public static class JsonConversion
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static ValueConverter<T, string> For<T>() where T : new() =>
        new(v => JsonSerializer.Serialize(v, Options), s => JsonSerializer.Deserialize<T>(s, Options) ?? new T());

    public static ValueComparer<T> Comparer<T>() where T : new() =>
        new((a, b) => Serialize(a) == Serialize(b), v => Serialize(v).GetHashCode(),
            v => JsonSerializer.Deserialize<T>(Serialize(v), Options) ?? new T());
}
