using RetentionCampaigns.Benchmarks;

// Benchmarks are run by hand or in CI jobs of their own, never by `dotnet test`.
return args switch
{
    ["ingest", .. var rest] => await IngestBenchmark.RunAsync(rest),
    ["segments", .. var rest] => await SegmentsBenchmark.RunAsync(rest),
    ["render", .. var rest] => await RenderBenchmark.RunAsync(rest),
    ["smtp", .. var rest] => await SmtpBenchmark.RunAsync(rest),
    ["campaign", .. var rest] => await CampaignBenchmark.RunAsync(rest),
    ["guard", .. var rest] => BenchmarkGuard.Run(rest),
    ["unsubscribe", .. var rest] => await UnsubscribeBenchmark.RunAsync(rest),
    ["pages", .. var rest] => await PagesBenchmark.RunAsync(rest),
    ["screenshots", .. var rest] => await Screenshots.RunAsync(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        Usage: dotnet run -c Release --project tests/RetentionCampaigns.Benchmarks -- BENCHMARK [options]
          ingest [--rows 1000000] [--customers 100000]   orders CSV into PostgreSQL vs psql \copy into a bare table
          segments [--customers 1000000] [--sqlite-customers 100000] [--postgres-only|--sqlite-only] [--keep] [--reuse DATABASE]
                                                         metrics refresh vs an aggregate SELECT, segment count and preview;
                                                         --keep leaves the generated database behind, --reuse measures a kept one again
          render [--messages 100000]                     win-back messages per second on one thread vs a bare Scriban Template.Render
          smtp [--messages 20000]                        5 KB messages to smtp-sink: one connection, a pool of 8, vs smtp-source -d -s 8
          campaign [--recipients 100000] [--postgres-only|--sqlite-only] [--json FILE] [--warm-up] [--app-env NAME=VALUE]...
                                                         a one-off campaign sent by the app process to smtp-sink, trigger to last accepted,
                                                         against smtp-source -d -s 8; --json writes the figures for guard; --warm-up sends
                                                         to a third first in the same app process; --app-env sets a variable for the app only
          guard [--baseline FILE] RUN.json...            medians of campaign runs against baseline.json: fails when the ratio to the floor drops > 15 %
          unsubscribe [--seconds 30] [--connections 16] [--threads 2] [--customers 250000]
                                                         wrk against the one-click unsubscribe POST on PostgreSQL: rate, p99, all recorded
          pages [--customers 1000000] [--postgres-only|--demo-only]
                                                         the UI's pages signed in: dashboard, customer search and page, the builder's live count
          screenshots [--out docs/screenshots]            the README's pictures of the demo shop (dashboard, segment builder, customer page)
        PostgreSQL: RC_TEST_POSTGRES (default Host=127.0.0.1;Username=postgres;Password=postgres); a scratch database is created and dropped.
        """);
    return 2;
}
