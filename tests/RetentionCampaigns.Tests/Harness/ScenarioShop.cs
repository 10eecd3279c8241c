namespace RetentionCampaigns.Tests.Harness;

/// <summary>Bulk test data by SQL for scenarios and benchmarks: customers C1..Cn, each with marketing consent granted yesterday.</summary>
public static class ScenarioShop
{
    public static string SeedSql(bool postgres, int customers) => postgres
        ? $"""
           INSERT INTO customers (external_id, email, first_name, locale, time_zone, tags, attributes, created_at, updated_at)
           SELECT 'C' || g, 'c' || g || '@example.com', 'Kim' || g, CASE WHEN g % 3 = 0 THEN 'en' ELSE 'de' END, 'Europe/Berlin', '[]', '{"{}"}', now(), now()
           FROM generate_series(1, {customers}) AS g;
           INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, recorded_at)
           SELECT id, 'email_marketing', 'granted', 'consent', false, 'seed', now() - INTERVAL '1 day', now() FROM customers;
           ANALYZE;
           """
        : $"""
           WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {customers})
           INSERT INTO customers (external_id, email, first_name, locale, time_zone, tags, attributes, created_at, updated_at)
           SELECT 'C' || n, 'c' || n || '@example.com', 'Kim' || n, CASE WHEN n % 3 = 0 THEN 'en' ELSE 'de' END, 'Europe/Berlin', '[]', '{"{}"}',
                  datetime('now'), datetime('now')
           FROM g;
           INSERT INTO consent_events (customer_id, purpose, status, lawful_basis, objection, source, occurred_at, recorded_at)
           SELECT id, 'email_marketing', 'granted', 'consent', 0, 'seed', datetime('now', '-1 day'), datetime('now') FROM customers;
           """;
}
