using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Tests.Consent;

/// <summary>
/// The customer's row carries its current marketing consent (migration 0027), kept by the database whatever writes the
/// events: it must always equal what the events say (the latest by occurred_at, then id), or segments would count
/// the wrong customers.
/// </summary>
public sealed class MarketingConsentColumnTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task TheRowFollowsTheLatestEventThroughInsertsOutOfOrderTiesAndDeletes(DatabaseProvider store)
    {
        await using var database = await TestDatabase.CreateAsync(store);
        await using var db = database.CreateContext();
        await new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance).MigrateAsync();
        var (anna, ben) = (await AddCustomerAsync(db, "anna"), await AddCustomerAsync(db, "ben"));
        Assert.Equal(("none", false), await ColumnsAsync(db, anna));

        await AddEventAsync(db, anna, "email_marketing", "granted", false, "2026-03-01 10:00:00");
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        // Recorded later but happened earlier (an import of old history): the current state does not change.
        await AddEventAsync(db, anna, "email_marketing", "withdrawn", true, "2026-01-01 10:00:00");
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        // An objection counts only while its withdrawal is the latest event. Another purpose leaves marketing alone.
        await AddEventAsync(db, anna, "tracking", "withdrawn", false, "2026-04-01 10:00:00");
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        // The same moment: the later-recorded event wins, as in the consent ledger.
        var objection = await AddEventAsync(db, anna, "email_marketing", "withdrawn", true, "2026-03-01 10:00:00");
        Assert.Equal(("withdrawn", true), await ColumnsAsync(db, anna));
        Assert.Equal(("none", false), await ColumnsAsync(db, ben));

        // Deleting the latest event falls back to the one before; deleting all leaves none.
        await db.Database.ExecuteSqlRawAsync("DELETE FROM consent_events WHERE id = {0}", objection);
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        await db.Database.ExecuteSqlRawAsync("DELETE FROM consent_events WHERE customer_id = {0}", anna);
        Assert.Equal(("none", false), await ColumnsAsync(db, anna));

        // Many events in one statement (an import): each customer ends on its own latest.
        var import = $"""
            INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, recorded_at) VALUES
            ({anna}, 'email_marketing', 'granted', 'consent', {False(store)}, 'import', '2026-05-02 00:00:00', '2026-05-03 00:00:00'),
            ({anna}, 'email_marketing', 'withdrawn', 'consent', {False(store)}, 'import', '2026-05-01 00:00:00', '2026-05-03 00:00:00'),
            ({ben}, 'email_marketing', 'withdrawn', 'consent', {False(store)}, 'import', '2026-05-02 00:00:00', '2026-05-03 00:00:00'),
            ({ben}, 'email_marketing', 'granted', 'consent', {False(store)}, 'import', '2026-05-01 00:00:00', '2026-05-03 00:00:00')
            """;
        await db.Database.ExecuteSqlRawAsync(import);
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        Assert.Equal(("withdrawn", false), await ColumnsAsync(db, ben));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheMigrationFillsTheRowsOfCustomersWhoseEventsCameBeforeIt(DatabaseProvider store)
    {
        await using var database = await TestDatabase.CreateAsync(store);
        await using var db = database.CreateContext();
        var migrator = new DatabaseMigrator(db, NullLogger<DatabaseMigrator>.Instance);
        await migrator.MigrateAsync();
        // Back to the schema before 0027 (the later migrations stay; only 0027 runs again), with consent recorded then.
        await db.Database.ExecuteSqlRawAsync(store == DatabaseProvider.Postgres
            ? """
              DROP TRIGGER consent_events_inserted ON consent_events; DROP TRIGGER consent_events_updated ON consent_events;
              DROP TRIGGER consent_events_deleted ON consent_events; DROP FUNCTION customers_follow_marketing_consent();
              ALTER TABLE customers DROP COLUMN marketing_consent, DROP COLUMN marketing_objected;
              DELETE FROM schema_migrations WHERE version = 27;
              """
            : """
              DROP TRIGGER consent_events_inserted; DROP TRIGGER consent_events_updated; DROP TRIGGER consent_events_deleted;
              DROP VIEW customer_marketing_consent;
              ALTER TABLE customers DROP COLUMN marketing_consent; ALTER TABLE customers DROP COLUMN marketing_objected;
              DELETE FROM schema_migrations WHERE version = 27;
              """);
        var (anna, ben, cleo) = (await AddCustomerAsync(db, "anna"), await AddCustomerAsync(db, "ben"), await AddCustomerAsync(db, "cleo"));
        await AddEventAsync(db, anna, "email_marketing", "granted", false, "2026-01-01 10:00:00");
        await AddEventAsync(db, ben, "email_marketing", "granted", false, "2026-01-01 10:00:00");
        await AddEventAsync(db, ben, "email_marketing", "withdrawn", true, "2026-02-01 10:00:00");
        await AddEventAsync(db, cleo, "tracking", "granted", false, "2026-01-01 10:00:00");

        await migrator.MigrateAsync();
        Assert.Equal(("granted", false), await ColumnsAsync(db, anna));
        Assert.Equal(("withdrawn", true), await ColumnsAsync(db, ben));
        Assert.Equal(("none", false), await ColumnsAsync(db, cleo));
    }

    static string False(DatabaseProvider store) => store == DatabaseProvider.Postgres ? "false" : "0";

    static async Task<long> AddCustomerAsync(RetentionDb db, string name)
    {
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var customer = new RetentionCampaigns.Customers.Customer
        {
            ExternalId = name, Email = $"{name}@example.com", Locale = "de", TimeZone = "Europe/Berlin", CreatedAt = now, UpdatedAt = now,
        };
        db.Customers.Add(customer);
        await db.SaveChangesAsync();
        return customer.Id;
    }

    /// <returns>The event's id.</returns>
    static async Task<long> AddEventAsync(RetentionDb db, long customerId, string purpose, string status, bool objection, string occurredAt)
    {
        var occurred = DateTime.SpecifyKind(DateTime.Parse(occurredAt, System.Globalization.CultureInfo.InvariantCulture), DateTimeKind.Utc);
        var consent = new RetentionCampaigns.Consent.ConsentEvent
        {
            CustomerId = customerId, Purpose = purpose, Status = status, LawfulBasis = "consent",
            Objection = objection, Source = "api", OccurredAt = occurred, RecordedAt = occurred,
        };
        db.ConsentEvents.Add(consent);
        await db.SaveChangesAsync();
        return consent.Id;
    }

    /// <returns>The current status ("none" without events) and whether it is a withdrawal with an objection.</returns>
    static async Task<(string Status, bool Objected)> ColumnsAsync(RetentionDb db, long customerId)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = connection.Command("SELECT marketing_consent, marketing_objected FROM customers WHERE id = @id", parameters: [("@id", customerId)]);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetString(0), Convert.ToBoolean(reader.GetValue(1)));
        }
        finally { await db.Database.CloseConnectionAsync(); }
    }
}
