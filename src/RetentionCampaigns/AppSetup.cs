using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using RetentionCampaigns.Api;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Bounces;
using RetentionCampaigns.Campaigns;
using RetentionCampaigns.Cli;
using RetentionCampaigns.Consent;
using RetentionCampaigns.Coupons;
using RetentionCampaigns.Customers;
using RetentionCampaigns.Data;
using RetentionCampaigns.Demo;
using RetentionCampaigns.Health;
using RetentionCampaigns.Imports;
using RetentionCampaigns.Kpis;
using RetentionCampaigns.Links;
using RetentionCampaigns.Mailing;
using RetentionCampaigns.Scheduling;
using RetentionCampaigns.Metrics;
using RetentionCampaigns.Orders;
using RetentionCampaigns.Pages;
using RetentionCampaigns.Preferences;
using RetentionCampaigns.PublicPages;
using RetentionCampaigns.Segments;
using RetentionCampaigns.Surveys;
using RetentionCampaigns.Suppressions;
using RetentionCampaigns.Privacy;
using RetentionCampaigns.Referrals;
using RetentionCampaigns.Signups;
using RetentionCampaigns.Templates;
using RetentionCampaigns.Users;

namespace RetentionCampaigns;

public static class AppSetup
{
    public static void AddRetentionCampaigns(this WebApplicationBuilder builder, CommandLine command)
    {
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<ShopOptions>().BindConfiguration("Shop");
        services.AddRetentionData(builder.Configuration);
        services.AddScoped<CsvImporter>();
        services.AddSingleton<ImportJobs>();
        services.AddScoped<DemoShop>();
        services.AddScoped<Users.UserAccounts>();
        services.AddOptions<MetricsOptions>().BindConfiguration("Metrics").Validate(o => o.ThresholdsValid()).ValidateOnStart();
        services.AddScoped<MetricsRefresh>();
        services.AddScoped<KpiCalculator>();
        services.AddScoped<DashboardFigures>();
        services.AddSingleton<DashboardFiguresInBackground>();
        services.AddOptions<PublicLinkOptions>().BindConfiguration("Links")
            .Configure<IConfiguration>((options, configuration) => options.PublicBaseUrl = configuration["PublicBaseUrl"] ?? options.PublicBaseUrl);
        services.AddSingleton(LoadLinkTokens);
        services.AddSingleton<LinkBuilder>();
        services.AddSingleton<UiFormat>();
        services.AddOptions<PublicPageOptions>().BindConfiguration("PublicPages");
        services.AddSingleton<PublicRateLimits>();
        services.AddOptions<PreferenceOptions>().BindConfiguration("Preferences");
        services.AddOptions<SignupOptions>().BindConfiguration("Consent");
        services.AddOptions<ReferralOptions>().BindConfiguration("Referrals");
        services.AddScoped<ReferralRewards>();
        services.AddScoped<ConfirmationMail>();
        services.AddSingleton(LoadSuppressionList);
        services.AddSingleton<TemplateEngine>();
        services.AddSingleton<TemplateValidator>();
        services.AddScoped<TemplateModelBuilder>();
        services.AddMail();
        services.AddScoped<CampaignRuns>();
        services.AddScoped<CampaignSender>();
        services.AddScoped<DeliveryLedger>();
        services.AddSingleton<SendWindow>();
        services.AddSingleton<SendRateLimits>();
        if (command.Verb is null) services.AddHostedService<StartupTasks>();
        // After StartupTasks: the scheduler starts on a migrated database (the web host's only; a CLI verb runs none).
        services.AddScheduling(builder.Configuration, runScheduler: command.Verb is null);
        services.AddSingleton(command);

        services.AddProblemDetails(options => options.CustomizeProblemDetails = context => ProblemText.Explain(context.ProblemDetails));
        services.AddExceptionHandler<BadRequestHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o => o.SerializerOptions.AllowTrailingCommas = true);
        services.AddSingleton<ApiKeyUsage>();
        services.AddSignIn();
        services.AddOpenApi(OpenApiSetup.Configure);
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
    }

    /// <summary>The signing keys come from configuration or the database (created there on first use), once per process.</summary>
    static LinkTokens LoadLinkTokens(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        return LinkTokens.LoadAsync(scope.ServiceProvider.GetRequiredService<RetentionDb>(),
            services.GetRequiredService<IOptions<PublicLinkOptions>>().Value, services.GetRequiredService<TimeProvider>(), CancellationToken.None)
            .GetAwaiter().GetResult();
    }

    /// <summary>The suppression salt is read from the database (created there on first use), once per process.</summary>
    static SuppressionList LoadSuppressionList(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        return SuppressionList.LoadAsync(scope.ServiceProvider.GetRequiredService<RetentionDb>(), services.GetRequiredService<TimeProvider>(), CancellationToken.None)
            .GetAwaiter().GetResult();
    }

    const int BufferedJsonBody = 1024 * 1024;

    public static void MapRetentionCampaigns(this WebApplication app)
    {
        app.UseExceptionHandler();
        // A JSON body with a wrongly typed field is read a second time to name every wrong field (BadRequestHandler).
        // Kept in memory, and only for bodies up to 1 MB: a large batch is not copied to a temporary file for that.
        app.Use((context, next) =>
        {
            if (context.Request.ContentLength is > 0 and <= BufferedJsonBody && context.Request.HasJsonContentType())
                context.Request.EnableBuffering(BufferedJsonBody);
            return next(context);
        });
        app.UseUiAssets();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseUiLanguage();

        app.MapOpenApi();
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportJson.WriteAsync });
        app.MapPublicPages();
        app.MapRazorPages();
        app.MapJobsDashboard();
        var api = app.MapGroup("/api").RequireAuthorization(SignInSetup.ApiPolicy);
        api.MapCustomers();
        api.MapOrders();
        api.MapSurveyAnswers();
        api.MapConsents();
        api.MapImports();
        api.MapMetrics();
        api.MapKpis();
        api.MapSegments();
        api.MapTemplates();
        api.MapCampaigns();
        api.MapCoupons();
        api.MapSuppressions();
        api.MapBounces();
        api.MapPrivacy();
        api.MapReferralPrograms();
        api.MapReferrals();
        api.MapApiKeys();
    }
}

/// <summary>Migrates the database before the server accepts requests, then seeds the demo shop when asked.</summary>
sealed class StartupTasks(IServiceScopeFactory scopes, CommandLine command, IHostApplicationLifetime lifetime, IServer server) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DatabaseMigrator>().MigrateAsync(ct);
        var db = scope.ServiceProvider.GetRequiredService<RetentionDb>();
        await BuiltInSegments.EnsureAsync(db, TimeProvider.System, ct);
        await DefaultTemplates.EnsureAsync(db, scope.ServiceProvider.GetRequiredService<TemplateValidator>(), TimeProvider.System, ct,
            scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DefaultTemplates)));
        scope.ServiceProvider.GetRequiredService<LinkTokens>(); // creates the first signing key before any request needs it
        scope.ServiceProvider.GetRequiredService<SuppressionList>(); // and the suppression salt
        if (command.Demo)
        {
            var progress = new Progress<string>(Console.WriteLine);
            var demo = await scope.ServiceProvider.GetRequiredService<DemoShop>().SeedAsync(progress, ct);
            if (demo.AlreadySeeded) Console.WriteLine("The demo shop is already seeded (from an earlier start); a fresh demo API key replaces the last one.");
            // Segments read the metrics: have them from the first request on.
            else
            {
                await scope.ServiceProvider.GetRequiredService<MetricsRefresh>().RunAsync(null, ct);
                await scope.ServiceProvider.GetRequiredService<DashboardFigures>().ComputeAsync(ct);
            }
            var password = await scope.ServiceProvider.GetRequiredService<UserAccounts>().DemoAdminPasswordAsync(ct);
            // Printed once the server listens: the lines a newcomer needs, set apart from the log.
            lifetime.ApplicationStarted.Register(() => DemoBanner.Print(server, demo.Key, UserAccounts.DemoAdmin, password));
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
