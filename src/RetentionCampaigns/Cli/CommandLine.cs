using Spectre.Console;
using RetentionCampaigns.ApiKeys;
using RetentionCampaigns.Data;
using RetentionCampaigns.Imports;

namespace RetentionCampaigns.Cli;

/// <summary>
/// The executable is both the web host and a small CLI. Verbs are taken off the arguments before the host sees
/// them, because the configuration parser would read a file path or a bare flag as a setting.
/// </summary>
public sealed record CommandLine(string[]? Verb, bool Demo, string[] HostArgs)
{
    const string Usage = """
        Usage:
          RetentionCampaigns [--demo] [--urls http://127.0.0.1:5080]   run the web app (--demo seeds the demo shop)
          RetentionCampaigns apikey create NAME                        create an API key and print it
          RetentionCampaigns apikey list                               list the keys: id, prefix, name, created, last used
          RetentionCampaigns apikey revoke ID|PREFIX                   revoke a key
          RetentionCampaigns user create EMAIL --role admin|marketer|analyst
                                                                      create a sign-in for the UI; prints its generated password once
          RetentionCampaigns user reset-password EMAIL                 give an account a new generated password (printed once)
          RetentionCampaigns import customers FILE                     import a customers CSV
          RetentionCampaigns import orders FILE                        import an orders CSV
          RetentionCampaigns import consents FILE                      import a consent events CSV
          RetentionCampaigns metrics refresh [--now 2025-01-31T00:00Z] recompute every customer's metrics
          RetentionCampaigns send-test --to ADDRESS [--template KEY] [--customer EXTERNAL_ID]
                                                                      send a template's test email (default: win-back)
        """;

    public static CommandLine Parse(string[] args)
    {
        if (args.Length > 0 && !args[0].StartsWith('-'))
            return new CommandLine(args, false, []);
        var demo = args.Contains("--demo");
        return new CommandLine(null, demo, args.Where(a => a != "--demo").ToArray());
    }

    public async Task<int> RunAsync(WebApplication app)
    {
        if (Verb is null)
        {
            try
            {
                await app.RunAsync();
                return 0;
            }
            catch (Exception refused) when (refused is RetentionCampaigns.Demo.DemoRefused or Scheduling.SchedulerRefused)
            {
                await Console.Error.WriteLineAsync(refused.Message);
                return 1;
            }
        }
        await using var scope = app.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        switch (Verb)
        {
            case ["apikey", "create", var name]:
                await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
                Console.WriteLine(await ApiKeyService.CreateAsync(services.GetRequiredService<RetentionDb>(), name, TimeProvider.System));
                return 0;
            case ["apikey", "list"]:
            {
                await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
                var keys = await ApiKeyService.ListAsync(services.GetRequiredService<RetentionDb>(), CancellationToken.None);
                Console.WriteLine($"{"ID",-5} {"PREFIX",-11} {"NAME",-24} {"CREATED (UTC)",-17} {"LAST USED (UTC)",-17} STATE");
                static string At(DateTime? at) => at?.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "never";
                foreach (var k in keys)
                    Console.WriteLine($"{k.Id,-5} {k.Prefix,-11} {k.Name,-24} {At(k.CreatedAt),-17} {At(k.LastUsedAt),-17} " +
                                      (k.RevokedAt is { } revoked ? $"revoked {At(revoked)}" : "active"));
                return 0;
            }
            case ["apikey", "revoke", var idOrPrefix]:
                await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
                if (await ApiKeyService.RevokeAsync(services.GetRequiredService<RetentionDb>(), idOrPrefix, DateTime.UtcNow, CancellationToken.None))
                {
                    Console.WriteLine($"Revoked API key {idOrPrefix}.");
                    return 0;
                }
                await Console.Error.WriteLineAsync($"No active API key has the id or prefix '{idOrPrefix}' (apikey list shows them).");
                return 1;
            case ["user", "create", var email, "--role", var role]:
                return await UserAsync(services, accounts => accounts.CreateAsync(email, role, CancellationToken.None),
                    created => $"Created {created.User.Role} {created.User.Email} with the password {created.Password} (shown only now)");
            case ["user", "reset-password", var email]:
                return await UserAsync(services, accounts => accounts.ResetPasswordAsync(email, CancellationToken.None),
                    password => $"The new password of {email.Trim().ToLowerInvariant()} is {password} (shown only now)");
            case ["import", var kind, var file] when kind is "customers" or "orders" or "consents":
                await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
                return await ImportAsync(services.GetRequiredService<CsvImporter>(), kind, file);
            case ["metrics", "refresh", .. var rest]:
                DateTime? now = null;
                if (rest is ["--now", var text])
                {
                    if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
                    {
                        await Console.Error.WriteLineAsync($"--now must be a date or time such as 2025-01-31T00:00:00Z, not '{text}'.");
                        return 2;
                    }
                    now = at.UtcDateTime;
                }
                else if (rest.Length > 0)
                {
                    await Console.Error.WriteLineAsync(Usage);
                    return 2;
                }
                await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
                var result = await services.GetRequiredService<Metrics.MetricsRefresh>().RunAsync(now, CancellationToken.None);
                // The dashboard's figures are as of now; a refresh as of another instant leaves them as they are.
                if (now is null) await services.GetRequiredService<Kpis.DashboardFigures>().ComputeAsync(CancellationToken.None);
                Console.WriteLine($"Metrics of {result.Customers} customers as of {result.EvaluatedAt:u} in {result.DurationMs} ms.");
                return 0;
            case ["send-test", .. var options]:
                return await SendTestAsync(services, options);
            default:
                await Console.Error.WriteLineAsync(Usage);
                return 2;
        }
    }

    static async Task<int> SendTestAsync(IServiceProvider services, string[] options)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i < options.Length; i += 2)
        {
            if (i + 1 >= options.Length || options[i] is not ("--to" or "--template" or "--customer" or "--locale"))
            {
                await Console.Error.WriteLineAsync(Usage);
                return 2;
            }
            values[options[i]] = options[i + 1];
        }
        if (!values.TryGetValue("--to", out var to))
        {
            await Console.Error.WriteLineAsync("send-test needs --to ADDRESS.");
            return 2;
        }
        await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
        var db = services.GetRequiredService<RetentionDb>();
        await Templates.DefaultTemplates.EnsureAsync(db, services.GetRequiredService<Templates.TemplateValidator>(), TimeProvider.System, CancellationToken.None);
        try
        {
            var result = await services.GetRequiredService<Mailing.TestSend>().SendAsync(values.GetValueOrDefault("--template", "win-back"), to,
                values.GetValueOrDefault("--customer"), values.GetValueOrDefault("--locale"), CancellationToken.None);
            Console.WriteLine($"Sent {result.Template} v{result.Version} ({result.Locale}) to {result.To} through the {result.Transport}: {result.Reply}; Message-ID <{result.MessageId}>");
            return 0;
        }
        catch (Mailing.TestSend.Refused refused)
        {
            await Console.Error.WriteLineAsync($"{refused.Field}: {refused.Message}");
            return 1;
        }
    }

    static async Task<int> UserAsync<T>(IServiceProvider services, Func<Users.UserAccounts, Task<T>> change, Func<T, string> describe)
    {
        await services.GetRequiredService<DatabaseMigrator>().MigrateAsync();
        try
        {
            Console.WriteLine(describe(await change(services.GetRequiredService<Users.UserAccounts>())));
            return 0;
        }
        catch (Users.UserAccounts.Refused refused)
        {
            await Console.Error.WriteLineAsync($"{refused.Field}: {refused.Message}");
            return 1;
        }
    }

    static async Task<int> ImportAsync(CsvImporter importer, string kind, string file)
    {
        if (!File.Exists(file))
        {
            await Console.Error.WriteLineAsync($"No such file: {file}");
            return 2;
        }
        var length = new FileInfo(file).Length;
        ImportReport report = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"Importing {kind}", maxValue: Math.Max(length, 1));
                var updates = new Progress<ImportProgress>(p => task.Value = p.BytesRead);
                report = await importer.ImportAsync(Enum.Parse<ImportKind>(kind, ignoreCase: true), file,
                    Path.GetFileName(file), updates, CancellationToken.None);
                task.Value = task.MaxValue;
            });
        Console.WriteLine(report.Describe());
        return report.Status == "completed" ? 0 : 1;
    }
}
