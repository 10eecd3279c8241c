using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Data;
using RetentionCampaigns.Metrics;

namespace RetentionCampaigns.Kpis;

/// <summary>A KPI with the counts behind it, so every figure can be checked by hand; null when there is nothing to divide.</summary>
public sealed record Kpi(double? Value, double Numerator, double Denominator);

public sealed record KpiReport(
    DateTime Start, DateTime End, Kpi ChurnRate, Kpi RetentionRate, Kpi RevenueRetention, Kpi RepeatPurchaseRate,
    Kpi UpsellRate, Kpi Nps, Kpi Csat, Kpi LoyaltyRate);

/// <summary>
/// The retention KPIs of DOMAIN.md for a period [start, end), each one aggregate query in SQL that both providers
/// understand (the period boundaries are computed here, so the SQL needs no date arithmetic).
/// </summary>
public sealed class KpiCalculator(RetentionDb db, IOptions<MetricsOptions> options)
{
    public async Task<KpiReport> ComputeAsync(DateTime start, DateTime end, CancellationToken ct)
    {
        var churnDays = options.Value.ChurnAfterDays;
        var p = new Dictionary<string, object>
        {
            ["@start"] = start, ["@end"] = end, ["@active_start"] = start.AddDays(-churnDays), ["@active_end"] = end.AddDays(-churnDays),
            ["@previous"] = start - (end - start),
        };
        await db.Database.OpenConnectionAsync(ct);
        var connection = db.Database.GetDbConnection();
        // Statements are auto-prepared on PostgreSQL; after five runs the server may plan them once for any period,
        // and a plan made without the dates scanned for minutes where the dated one takes seconds. KPIs are planned
        // with their dates every time.
        if (db.IsPostgres) await using (var custom = connection.Command("SET plan_cache_mode = force_custom_plan")) await custom.ExecuteNonQueryAsync(ct);
        try
        {

            // "Active at X" is an order with X - ChurnAfterDays <= t <= X, the exact negation of the metrics' churned (DOMAIN.md).
            var (atStart, lost) = await PairAsync(connection, """
                SELECT COUNT(*),
                       SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.customer_id = s.customer_id
                                                 AND o.ordered_at >= @active_end AND o.ordered_at <= @end) THEN 1 ELSE 0 END)
                FROM (SELECT DISTINCT customer_id FROM orders WHERE ordered_at >= @active_start AND ordered_at <= @start) AS s
                """, p, ct);

            var (atEnd, newAtEnd) = await PairAsync(connection, """
                SELECT COUNT(*), SUM(CASE WHEN f.first_at >= @start THEN 1 ELSE 0 END)
                FROM (SELECT customer_id, MIN(ordered_at) AS first_at FROM orders WHERE ordered_at <= @end GROUP BY customer_id) AS f
                WHERE EXISTS (SELECT 1 FROM orders AS o WHERE o.customer_id = f.customer_id AND o.ordered_at >= @active_end AND o.ordered_at <= @end)
                """, p, ct);

            var (revenueNow, revenueBefore) = await PairAsync(connection, """
                SELECT SUM(CASE WHEN ordered_at >= @start THEN amount_minor - refunded_minor ELSE 0 END),
                       SUM(CASE WHEN ordered_at < @start THEN amount_minor - refunded_minor ELSE 0 END)
                FROM orders
                WHERE ordered_at >= @previous AND ordered_at < @end
                  AND customer_id IN (SELECT customer_id FROM orders WHERE ordered_at >= @previous AND ordered_at < @start)
                """, p, ct);

            var (repeaters, buyers) = await PairAsync(connection, """
                SELECT SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), COUNT(*)
                FROM (SELECT customer_id, COUNT(*) AS n FROM orders WHERE ordered_at <= @end GROUP BY customer_id) AS x
                """, p, ct);

            var (upsold, returning) = await PairAsync(connection, """
                SELECT SUM(CASE WHEN EXISTS (
                           SELECT 1 FROM orders AS po JOIN order_lines AS pl ON pl.order_id = po.id
                           WHERE po.customer_id = e.customer_id AND po.ordered_at >= @start AND po.ordered_at < @end AND pl.category IS NOT NULL
                             AND NOT EXISTS (SELECT 1 FROM orders AS bo JOIN order_lines AS bl ON bl.order_id = bo.id
                                             WHERE bo.customer_id = e.customer_id AND bo.ordered_at < @start AND bl.category = pl.category))
                           THEN 1 ELSE 0 END),
                       COUNT(*)
                FROM (SELECT DISTINCT customer_id FROM orders WHERE ordered_at >= @start AND ordered_at < @end) AS e
                WHERE EXISTS (SELECT 1 FROM orders AS b WHERE b.customer_id = e.customer_id AND b.ordered_at < @start)
                """, p, ct);

            var nps = await TripleAsync(connection, """
                SELECT SUM(CASE WHEN nps >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN nps <= 6 THEN 1 ELSE 0 END), COUNT(*)
                FROM (SELECT nps, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY answered_at DESC, id DESC) AS rn
                      FROM survey_answers WHERE nps IS NOT NULL AND answered_at >= @start AND answered_at < @end) AS latest
                WHERE rn = 1
                """, p, ct);

            var (satisfied, csatAnswers) = await PairAsync(connection, """
                SELECT SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END), COUNT(*)
                FROM survey_answers WHERE csat IS NOT NULL AND answered_at >= @start AND answered_at < @end
                """, p, ct);

            var (loyaltySum, loyalCustomers) = await PairAsync(connection, $"""
                SELECT SUM(score), COUNT(score) FROM (
                    SELECT CAST(COALESCE(b, 0) + COALESCE(t, 0) + COALESCE(r, 0) AS {(db.IsPostgres ? "double precision" : "REAL")})
                           / NULLIF(CASE WHEN b IS NULL THEN 0 ELSE 1 END + CASE WHEN t IS NULL THEN 0 ELSE 1 END
                                    + CASE WHEN r IS NULL THEN 0 ELSE 1 END, 0) AS score
                    FROM (SELECT x.customer_id, {Latest("buy_again")} AS b, {Latest("try_new_products")} AS t, {Latest("recommend")} AS r
                          FROM (SELECT DISTINCT customer_id FROM survey_answers WHERE answered_at >= @start AND answered_at < @end) AS x) AS latest
                ) AS scores
                """, p, ct);

            return new KpiReport(start, end,
                ChurnRate: Percent(lost, atStart),
                RetentionRate: Percent(atEnd - newAtEnd, atStart),
                RevenueRetention: Percent(revenueNow, revenueBefore),
                RepeatPurchaseRate: Percent(repeaters, buyers),
                UpsellRate: Percent(upsold, returning),
                Nps: new Kpi(nps.Total == 0 ? null : Math.Round(100.0 * (nps.Promoters - nps.Detractors) / nps.Total, 1),
                    nps.Promoters - nps.Detractors, nps.Total),
                Csat: Percent(satisfied, csatAnswers),
                LoyaltyRate: new Kpi(loyalCustomers == 0 ? null : Math.Round(loyaltySum / loyalCustomers, 1), loyaltySum, loyalCustomers));
        }
        finally
        {
            if (db.IsPostgres) await using (var reset = connection.Command("RESET plan_cache_mode")) await reset.ExecuteNonQueryAsync(CancellationToken.None);
            await db.Database.CloseConnectionAsync();
        }
    }

    static string Latest(string column) => $"""
        (SELECT a.{column} FROM survey_answers AS a
         WHERE a.customer_id = x.customer_id AND a.{column} IS NOT NULL AND a.answered_at >= @start AND a.answered_at < @end
         ORDER BY a.answered_at DESC, a.id DESC LIMIT 1)
        """;

    static Kpi Percent(double numerator, double denominator) =>
        new(denominator == 0 ? null : Math.Round(100.0 * numerator / denominator, 1), numerator, denominator);

    static async Task<(double, double)> PairAsync(DbConnection connection, string sql, Dictionary<string, object> parameters, CancellationToken ct)
    {
        var row = await RowAsync(connection, sql, parameters, ct);
        return (row[0], row[1]);
    }

    static async Task<(double Promoters, double Detractors, double Total)> TripleAsync(
        DbConnection connection, string sql, Dictionary<string, object> parameters, CancellationToken ct)
    {
        var row = await RowAsync(connection, sql, parameters, ct);
        return (row[0], row[1], row[2]);
    }

    static async Task<double[]> RowAsync(DbConnection connection, string sql, Dictionary<string, object> parameters, CancellationToken ct)
    {
        await using var command = connection.Command(sql, parameters:
            parameters.Where(p => sql.Contains(p.Key, StringComparison.Ordinal)).Select(p => (p.Key, (object?)p.Value)));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var values = new double[reader.FieldCount];
        for (var i = 0; i < values.Length; i++) values[i] = reader.IsDBNull(i) ? 0 : Convert.ToDouble(reader.GetValue(i));
        return values;
    }
}
