using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RetentionCampaigns.Api;
using RetentionCampaigns.Imports;

namespace RetentionCampaigns.Kpis;

public sealed record MonthlyKpis(string Month, KpiReport Kpis);

public static class KpisApi
{
    public static RouteGroupBuilder MapKpis(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/kpis").WithTags("KPIs");
        group.MapGet("/", ForPeriod).WithSummary("Every KPI for the period [start, end); dates without an offset are in the shop's time zone.");
        group.MapGet("/monthly", Monthly).WithSummary("Every KPI for each calendar month from 'from' to 'to' (yyyy-MM), for dashboards.");
        return group;
    }

    static async Task<Results<Ok<KpiReport>, ValidationProblem>> ForPeriod(
        string? start, string? end, KpiCalculator kpis, IOptions<ShopOptions> shop, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var zone = TimeZoneInfo.FindSystemTimeZoneById(shop.Value.TimeZone);
        var from = Time(errors, "start", start, zone);
        var to = Time(errors, "end", end, zone);
        if (from is not null && to is not null && from >= to) errors.Add("end", "must be after start.");
        if (errors.Any) return errors.ToProblem();
        return TypedResults.Ok(await kpis.ComputeAsync(from!.Value, to!.Value, ct));
    }

    static async Task<Results<Ok<List<MonthlyKpis>>, ValidationProblem>> Monthly(
        string? from, string? to, KpiCalculator kpis, IOptions<ShopOptions> shop, CancellationToken ct)
    {
        var errors = new ValidationErrors();
        var first = Month(errors, "from", from);
        var last = Month(errors, "to", to);
        if (first is not null && last is not null)
        {
            if (first > last) errors.Add("to", "must not be before from.");
            else if ((last.Value.Year - first.Value.Year) * 12 + last.Value.Month - first.Value.Month >= 120) errors.Add("to", "at most 120 months at once.");
        }
        if (errors.Any) return errors.ToProblem();

        var zone = TimeZoneInfo.FindSystemTimeZoneById(shop.Value.TimeZone);
        var series = new List<MonthlyKpis>();
        for (var month = first!.Value; month <= last!.Value; month = month.AddMonths(1))
        {
            var start = TimeZoneInfo.ConvertTimeToUtc(month, zone);
            var end = TimeZoneInfo.ConvertTimeToUtc(month.AddMonths(1), zone);
            series.Add(new MonthlyKpis(month.ToString("yyyy-MM"), await kpis.ComputeAsync(start, end, ct)));
        }
        return TypedResults.Ok(series);
    }

    static DateTime? Time(ValidationErrors errors, string field, string? text, TimeZoneInfo zone)
    {
        if (string.IsNullOrWhiteSpace(text)) { errors.Add(field, "is required (e.g. 2025-01-01)."); return null; }
        if (CsvValues.TryParseTime(text, zone, out var utc)) return utc;
        errors.Add(field, "is not a date or time (e.g. 2025-01-01 or 2025-01-01T00:00:00Z).");
        return null;
    }

    static DateTime? Month(ValidationErrors errors, string field, string? text)
    {
        if (DateTime.TryParseExact(text, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var month))
            return month;
        errors.Add(field, "must be a month such as 2025-01.");
        return null;
    }
}
