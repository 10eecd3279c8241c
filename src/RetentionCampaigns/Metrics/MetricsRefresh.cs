using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Data;

namespace RetentionCampaigns.Metrics;

public sealed record MetricsRefreshResult(DateTime EvaluatedAt, int Customers, long DurationMs, double? AverageLifespanYears);

/// <summary>
/// Recomputes customer_metrics for a given "now" in one set-based statement (no per-customer loop), then records
/// the run. The SQL is shared by both providers but for date arithmetic and types.
/// </summary>
public sealed class MetricsRefresh(RetentionDb db, IOptions<MetricsOptions> options, TimeProvider clock)
{
    public async Task<MetricsRefreshResult> RunAsync(DateTime? asOf, CancellationToken ct)
    {
        var now = (asOf ?? clock.GetUtcNow().UtcDateTime).ToUniversalTime();
        var settings = options.Value;
        var postgres = db.IsPostgres;
        var watch = Stopwatch.StartNew();
        var startedAt = clock.GetUtcNow().UtcDateTime;
        var lookbackStart = now.AddDays(-settings.LookbackDays);
        var surveyStart = now.AddDays(-settings.SurveyWindowDays);
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            var connection = db.Database.GetDbConnection();
            // One refresh at a time (two nodes, or the nightly job and a marketer's "refresh now"): the work tables are shared.
            if (postgres) await connection.ExecuteAsync($"SELECT pg_advisory_lock({RefreshLockKey}); {Settings}", ct: ct);
            // One grouped pass over orders and one over answers, each into a table of its own. The instants are literals
            // because PostgreSQL takes no parameters in CREATE TABLE AS; they are our own formatted DateTimes, not input.
            var inLookback = $"ordered_at >= {Literal(lookbackStart)}";
            // "Within the last D days" includes both edges (DOMAIN.md, time windows).
            var ordersSelect = $"""
                SELECT customer_id, COUNT(*) AS order_count, MIN(ordered_at) AS first_order_at, MAX(ordered_at) AS last_order_at,
                       {WholeDays(postgres, Literal(now), "MAX(ordered_at)")} AS recency_days,
                       {ExactSum(postgres, "amount_minor - refunded_minor")} AS net_all,
                       COUNT(*) FILTER (WHERE {inLookback}) AS frequency,
                       COALESCE({ExactSum(postgres, "amount_minor - refunded_minor", inLookback)}, 0) AS monetary
                FROM orders WHERE ordered_at <= {Literal(now)}
                """;
            var answersSelect = $"""
                SELECT customer_id,
                       {LatestAnswer(postgres, "nps")} AS nps_last,
                       {LatestAnswer(postgres, "ces")} AS ces_last,
                       {LatestAnswer(postgres, "buy_again")} AS buy_again,
                       {LatestAnswer(postgres, "try_new_products")} AS try_new,
                       {LatestAnswer(postgres, "recommend")} AS recommend,
                       AVG((csat - 1) * 25.0) AS csat_avg
                FROM survey_answers WHERE answered_at >= {Literal(surveyStart)} AND answered_at <= {Literal(now)}
                """;
            double? computedLifespan = null;
            if (postgres) computedLifespan = await ComputeOnTwoConnectionsAsync(connection, ordersSelect, answersSelect, now, settings, ct);
            else
            {
                await connection.ExecuteAsync("DROP TABLE IF EXISTS refresh_orders; DROP TABLE IF EXISTS refresh_answers", ct: ct);
                await connection.ExecuteAsync($"CREATE TEMP TABLE refresh_orders AS {ordersSelect} GROUP BY customer_id ORDER BY customer_id", ct: ct);
                await connection.ExecuteAsync($"CREATE TEMP TABLE refresh_answers AS {answersSelect} GROUP BY customer_id", ct: ct);
                // Temporary tables have no statistics until analysed; without them the join below plans badly.
                await connection.ExecuteAsync("ANALYZE refresh_orders; ANALYZE refresh_answers", ct: ct);
            }

            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var transaction = tx.GetDbTransaction();
            var lifespan = postgres ? computedLifespan : settings.AverageLifespanYears ?? await AverageLifespanYearsAsync(connection, transaction, "refresh_orders", ct);
            await connection.ExecuteAsync(postgres ? "TRUNCATE customer_metrics" : "DELETE FROM customer_metrics", transaction, ct: ct);
            var customers = postgres
                ? await connection.ExecuteAsync($"INSERT INTO customer_metrics ({Columns}) SELECT {Columns} FROM {RowsLow} UNION ALL SELECT {Columns} FROM {RowsHigh}", transaction, ct: ct)
                : await connection.ExecuteAsync(SqliteRefreshSql(settings), transaction,
                    [("@now", now), ("@churn_cutoff", now.AddDays(-settings.ChurnAfterDays)), ("@lifespan_years", lifespan)], ct);
            // The table was rewritten whole: fresh statistics keep segment queries on good plans.
            await connection.ExecuteAsync("ANALYZE customer_metrics", transaction, ct: ct);
            // PostgreSQL's work tables go in the finally block below, whatever happened.
            if (!postgres) await connection.ExecuteAsync("DROP TABLE refresh_orders; DROP TABLE refresh_answers", transaction, ct: ct);

            var duration = watch.ElapsedMilliseconds;
            db.MetricsRuns.Add(new MetricsRun { EvaluatedAt = now, StartedAt = startedAt, DurationMs = duration, Customers = customers, AverageLifespanYears = lifespan });
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            // The rewritten rows get their hint bits and the visibility map here, in one pass (0.1 s a million rows),
            // rather than in the first segment count after the refresh or in an autovacuum beside the counts.
            if (postgres) await connection.ExecuteAsync("VACUUM customer_metrics", ct: CancellationToken.None);
            return new MetricsRefreshResult(now, customers, duration, lifespan);
        }
        finally
        {
            if (postgres)
                await db.Database.GetDbConnection().ExecuteAsync($"{DropWorkTables}; SELECT pg_advisory_unlock({RefreshLockKey}); {ResetSettings}",
                    ct: CancellationToken.None);
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// PostgreSQL, measured at 1,000,000 customers and 10,000,000 orders (tests/RetentionCampaigns.Benchmarks, "segments"):
    /// - JIT-compiling these wide statements costs more than it saves, and the joins spill in the default 4 MB;
    /// - PostgreSQL's own parallel aggregate builds nearly every customer's group in each worker and merges them after:
    ///   slower on 2 cores than one serial pass;
    /// - sums over bigint keep their state outside the hash table (one more cache miss per row and sum): sums in
    ///   double precision are exact below 2^53 minor units and made the pass as cheap as count/sum/max alone;
    /// - rows written in customer order keep the primary-key inserts at the index's right edge (8.5 s -> 5.4 s).
    /// </summary>
    const string Settings = "SET jit = off; SET work_mem = '256MB'; SET max_parallel_workers_per_gather = 0";
    const string ResetSettings = "RESET jit; RESET work_mem; RESET max_parallel_workers_per_gather";
    const long RefreshLockKey = 7_215_330_001;
    // Unlogged: work tables that two connections fill and the refresh's own connection reads; nothing to recover after a crash.
    const string OrdersLow = "metrics_refresh_orders_low", OrdersHigh = "metrics_refresh_orders_high",
        AnswersLow = "metrics_refresh_answers_low", AnswersHigh = "metrics_refresh_answers_high",
        RecencyScores = "metrics_refresh_r", FrequencyScores = "metrics_refresh_f", MonetaryScores = "metrics_refresh_m",
        RowsLow = "metrics_refresh_rows_low", RowsHigh = "metrics_refresh_rows_high";
    const string DropWorkTables = $"DROP TABLE IF EXISTS {OrdersLow}, {OrdersHigh}, {AnswersLow}, {AnswersHigh}, {RecencyScores}, {FrequencyScores}, {MonetaryScores}, {RowsLow}, {RowsHigh}";
    const string Columns = """
        customer_id, evaluated_at, order_count, first_order_at, last_order_at, recency_days, frequency, monetary_minor, aov_minor, tenure_days,
        r_score, f_score, m_score, rfm_group, nps_last, nps_category, csat_avg, ces_last, loyalty_score, clv_minor, churned
        """;
    const string BothOrderHalves = $"(SELECT * FROM {OrdersLow} UNION ALL SELECT * FROM {OrdersHigh})";

    /// <summary>
    /// PostgreSQL computes every customer's row on two connections at once, in two halves of the customers, into work
    /// tables the refresh's transaction then copies into customer_metrics (which must stay whole for readers until it
    /// commits): the grouped passes over the orders and over the answers, half each (the answers' pass alone on
    /// whichever connection finished first kept the other core idle for 2.7 s); the score tables (they need every
    /// customer's figures); each half's rows. The hash aggregate's cost is one cache miss
    /// after another in a table of every customer's group, so each core works on a table half the size; PostgreSQL's
    /// parallel aggregate (above) builds every group in each worker instead. The halves split at the midpoint between
    /// the median customer and the median customer of an order (1 % samples each): the cost grows with both groups and
    /// rows, and the customers who have been there longest have the most orders.
    /// </summary>
    /// <returns>The average lifespan in years the rows were computed with.</returns>
    async Task<double?> ComputeOnTwoConnectionsAsync(DbConnection connection, string ordersSelect, string answersSelect, DateTime now,
        MetricsOptions settings, CancellationToken ct)
    {
        await connection.ExecuteAsync(DropWorkTables, ct: ct);
        // A 1 % sample of pages finds no row in a small table: then the exact medians, cheap at that size. No orders: one half.
        await using var sample = connection.Command("""
            SELECT COALESCE(
                ((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM customers TABLESAMPLE SYSTEM (1))
                 + (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY customer_id) FROM orders TABLESAMPLE SYSTEM (1))) / 2,
                ((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM customers)
                 + (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY customer_id) FROM orders)) / 2)
            """);
        var split = await sample.ExecuteScalarAsync(ct) is long midpoint ? midpoint : 0;
        await using var second = new Npgsql.NpgsqlConnection(db.Database.GetConnectionString());
        await second.OpenAsync(ct);
        await second.ExecuteAsync(Settings, ct: ct);

        // Each connection its half of the orders, then its half of the answers. New tables have no statistics until
        // analysed; without them the joins below plan badly.
        await Task.WhenAll(
            connection.ExecuteAsync($"""
                CREATE UNLOGGED TABLE {OrdersLow} AS {ordersSelect} AND customer_id < {split} GROUP BY customer_id; ANALYZE {OrdersLow};
                CREATE UNLOGGED TABLE {AnswersLow} AS {answersSelect} AND customer_id < {split} GROUP BY customer_id; ANALYZE {AnswersLow}
                """, ct: ct),
            second.ExecuteAsync($"""
                CREATE UNLOGGED TABLE {OrdersHigh} AS {ordersSelect} AND customer_id >= {split} GROUP BY customer_id; ANALYZE {OrdersHigh};
                CREATE UNLOGGED TABLE {AnswersHigh} AS {answersSelect} AND customer_id >= {split} GROUP BY customer_id; ANALYZE {AnswersHigh}
                """, ct: ct));

        // The lifespan with the R and F scores on one connection, the M scores (as long as those three) on the other.
        async Task<double?> LifespanThenRecencyAndFrequencyScoresAsync()
        {
            var years = settings.AverageLifespanYears ?? await AverageLifespanYearsAsync(connection, null, BothOrderHalves, ct);
            await connection.ExecuteAsync($"""
                CREATE UNLOGGED TABLE {RecencyScores} AS {Scores(BothOrderHalves, "recency_days", "DESC")};
                CREATE UNLOGGED TABLE {FrequencyScores} AS {Scores(BothOrderHalves, "frequency", "ASC", "frequency >= 1")};
                ANALYZE {RecencyScores}; ANALYZE {FrequencyScores}
                """, ct: ct);
            return years;
        }
        var lifespanAndScores = LifespanThenRecencyAndFrequencyScoresAsync();
        await Task.WhenAll(lifespanAndScores,
            second.ExecuteAsync($"CREATE UNLOGGED TABLE {MonetaryScores} AS {Scores(BothOrderHalves, "monetary", "ASC", "frequency >= 1")}; ANALYZE {MonetaryScores}", ct: ct));
        var lifespan = await lifespanAndScores;

        string Rows(string orders, string answers, string customers) => MetricsRows(true, settings, orders, answers, RecencyScores, FrequencyScores, MonetaryScores, customers,
            Literal(now), Literal(now.AddDays(-settings.ChurnAfterDays)), lifespan is { } years ? years.ToString("R", CultureInfo.InvariantCulture) : "NULL");
        // In customer order: the copy into customer_metrics then adds each key at its index's right edge.
        await Task.WhenAll(
            connection.ExecuteAsync($"CREATE UNLOGGED TABLE {RowsLow} AS {Rows(OrdersLow, AnswersLow, $"c.id < {split}")} ORDER BY customer_id", ct: ct),
            second.ExecuteAsync($"CREATE UNLOGGED TABLE {RowsHigh} AS {Rows(OrdersHigh, AnswersHigh, $"c.id >= {split}")} ORDER BY customer_id", ct: ct));
        return lifespan;
    }

    string Literal(DateTime utc) => db.IsPostgres
        ? $"TIMESTAMPTZ '{utc.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'"
        : $"'{utc.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture)}'";

    /// <summary>Mean years between first and last order over customers with at least two orders, as of now.</summary>
    async Task<double?> AverageLifespanYearsAsync(DbConnection connection, DbTransaction? tx, string orderFigures, CancellationToken ct)
    {
        var sql = $"SELECT AVG({Days(db.IsPostgres, "last_order_at", "first_order_at")}) / {DaysPerYear} FROM {orderFigures} AS o WHERE order_count >= 2";
        await using var command = connection.Command(sql, tx);
        return await command.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToDouble(value) : null;
    }

    /// <summary>Years are days / 365.25 (DOMAIN.md), for tenure and lifespan alike.</summary>
    const string DaysPerYear = "365.25";

    /// <summary>Fractional days from b to a.</summary>
    static string Days(bool postgres, string a, string b) =>
        postgres ? $"(EXTRACT(EPOCH FROM ({a} - {b})) / 86400.0)" : $"(julianday({a}) - julianday({b}))";

    static string WholeDays(bool postgres, string a, string b) =>
        postgres ? $"CAST(floor({Days(postgres, a, b)}) AS integer)" : $"CAST({Days(postgres, a, b)} AS INTEGER)";

    // Generated from RfmGroups.For so the SQL and the C# grid cannot disagree. PostgreSQL picks the group from an
    // array: the CASE evaluated the f_score expression once for each of up to 25 branches (about 1.5 s a million rows).
    static readonly string GroupCase = "CASE " + string.Concat(
        from r in Enumerable.Range(1, 5) from f in Enumerable.Range(1, 5)
        select $"WHEN r_score = {r} AND f_score = {f} THEN '{RfmGroups.For(r, f).Replace("'", "''")}' ") + "END";
    static readonly string GroupArray = "(ARRAY[" + string.Join(", ",
        from r in Enumerable.Range(1, 5) from f in Enumerable.Range(1, 5) select $"'{RfmGroups.For(r, f).Replace("'", "''")}'") + "])[(r_score - 1) * 5 + f_score]";

    /// <summary>
    /// The latest non-empty answer to one question in the survey window, in one grouped pass over the answers:
    /// an ordered array on PostgreSQL; on SQLite the maximum of "time, separator, value" (its timestamps sort as
    /// text, and char(1) sorts before every character of a timestamp, so shorter ones still compare correctly).
    /// </summary>
    static string LatestAnswer(bool postgres, string column) => postgres
        ? $"(array_agg({column} ORDER BY answered_at DESC) FILTER (WHERE {column} IS NOT NULL))[1]"
        : $"CAST(substr(max(CASE WHEN {column} IS NOT NULL THEN answered_at || char(1) || {column} END), "
          + $"instr(max(CASE WHEN {column} IS NOT NULL THEN answered_at || char(1) || {column} END), char(1)) + 1) AS INTEGER)";

    /// <summary>
    /// A sum of whole minor units. PostgreSQL sums bigints through a state kept outside the aggregate's hash table;
    /// a double-precision sum keeps it inline and stays exact while every partial sum is below 2^53.
    /// </summary>
    static string ExactSum(bool postgres, string expression, string? filter = null)
    {
        var where = filter is null ? "" : $" FILTER (WHERE {filter})";
        return postgres ? $"CAST(SUM(CAST({expression} AS double precision)){where} AS bigint)" : $"SUM({expression}){where}";
    }

    /// <summary>
    /// Score 1-5 per distinct value of one dimension, from the customers with orders (F and M: with an order in the
    /// lookback window): rank = 1 + the number of customers ranked strictly before (ties share the lowest rank),
    /// score = 1 + floor(5 (rank - 1) / n). Counting per distinct value replaces a sort of every customer by a sort
    /// of the few distinct values.
    /// </summary>
    static string Scores(string orderFigures, string column, string order, string where = "1 = 1") => $"""
        SELECT {column} AS value,
               1 + (5 * (CAST(SUM(COUNT(*)) OVER (ORDER BY {column} {order}) AS bigint) - COUNT(*))) / CAST(SUM(COUNT(*)) OVER () AS bigint) AS score
        FROM {orderFigures} AS o WHERE {where} GROUP BY {column}
        """;

    /// <summary>F or M by fixed thresholds: 1 + the number of thresholds the value reaches.</summary>
    static string ThresholdScore(string column, IReadOnlyList<long> thresholds) =>
        "(1" + string.Concat(thresholds.Select(t => $" + CASE WHEN {column} >= {t.ToString(CultureInfo.InvariantCulture)} THEN 1 ELSE 0 END")) + ")";

    /// <summary>
    /// F or M of a customer with orders: 1 when none lies in the lookback window; else by thresholds when they are
    /// configured, or from the rank among the customers with an order in the window (DOMAIN.md, f_score).
    /// </summary>
    static string WindowScore(string column, string ranked, IReadOnlyList<long>? thresholds) =>
        $"CASE WHEN o.customer_id IS NULL THEN NULL WHEN o.frequency = 0 THEN 1 ELSE {(thresholds is null ? $"{ranked}.score" : ThresholdScore($"o.{column}", thresholds))} END";

    static string SqliteRefreshSql(MetricsOptions settings) => $"""
        WITH r AS ({Scores("refresh_orders", "recency_days", "DESC")}),
        f AS ({Scores("refresh_orders", "frequency", "ASC", "frequency >= 1")}),
        m AS ({Scores("refresh_orders", "monetary", "ASC", "frequency >= 1")})
        INSERT INTO customer_metrics ({Columns})
        {MetricsRows(false, settings, "refresh_orders", "refresh_answers", "r", "f", "m", "1 = 1", "@now", "@churn_cutoff", "@lifespan_years")}
        """;

    /// <summary>
    /// Every metric of each customer matching <paramref name="customers"/> (a condition on <c>c</c>), from the order
    /// and answer figures and the score tables; the instants and the lifespan are SQL expressions.
    /// </summary>
    static string MetricsRows(bool postgres, MetricsOptions settings, string orders, string answers, string r, string f, string m, string customers,
        string now, string churnCutoff, string lifespanYears)
    {
        var real = postgres ? "double precision" : "REAL";
        var monetaryThresholds = settings.MonetaryThresholdValues()?.Select(v => (long)(v * 100)).ToList();
        return $"""
            SELECT customer_id, {now} AS evaluated_at, order_count, first_order_at, last_order_at, recency_days, frequency, monetary AS monetary_minor,
                   aov AS aov_minor, tenure_days, r_score, f_score, m_score, {(postgres ? GroupArray : GroupCase)} AS rfm_group, nps_last,
                   CASE WHEN nps_last IS NULL THEN 'unknown' WHEN nps_last >= 9 THEN 'promoter' WHEN nps_last >= 7 THEN 'passive' ELSE 'detractor' END AS nps_category,
                   csat_avg, ces_last,
                   CAST(COALESCE(buy_again, 0) + COALESCE(try_new, 0) + COALESCE(recommend, 0) AS {real})
                       / NULLIF(CASE WHEN buy_again IS NULL THEN 0 ELSE 1 END + CASE WHEN try_new IS NULL THEN 0 ELSE 1 END
                                + CASE WHEN recommend IS NULL THEN 0 ELSE 1 END, 0) AS loyalty_score,
                   aov * (order_count / CASE WHEN tenure_days / {DaysPerYear} > 1 THEN tenure_days / {DaysPerYear} ELSE 1 END) * CAST({lifespanYears} AS {real}) AS clv_minor,
                   COALESCE(last_order_at < {churnCutoff}, FALSE) AS churned
            FROM (
                SELECT c.id AS customer_id, COALESCE(o.order_count, 0) AS order_count, o.first_order_at, o.last_order_at, o.recency_days,
                       COALESCE(o.frequency, 0) AS frequency, COALESCE(o.monetary, 0) AS monetary,
                       CAST(o.net_all AS {real}) / o.order_count AS aov,
                       {WholeDays(postgres, now, "COALESCE(o.first_order_at, c.signed_up_at)")} AS tenure_days,
                       r.score AS r_score,
                       {WindowScore("frequency", "f", settings.FrequencyThresholdValues())} AS f_score,
                       {WindowScore("monetary", "m", monetaryThresholds)} AS m_score,
                       a.nps_last, a.ces_last, a.csat_avg, a.buy_again, a.try_new, a.recommend
                FROM customers AS c
                LEFT JOIN {orders} AS o ON o.customer_id = c.id
                LEFT JOIN {r} AS r ON r.value = o.recency_days
                LEFT JOIN {f} AS f ON f.value = o.frequency
                LEFT JOIN {m} AS m ON m.value = o.monetary
                LEFT JOIN {answers} AS a ON a.customer_id = c.id
                WHERE {customers}
            ) AS b
            """;
    }
}
