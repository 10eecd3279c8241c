using System.Diagnostics;

namespace RetentionCampaigns.Tests.Harness;

/// <summary>The repository around the tests, and the CLI run the way the README shows it.</summary>
public static class CliRunner
{
    public static string RepositoryRoot { get; } = FindRoot();

    static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "RetentionCampaigns.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("RetentionCampaigns.sln not found above the test assembly.");
    }

    /// <summary>
    /// The README's command, from <paramref name="workingDirectory"/>: <c>dotnet run --project .../src/RetentionCampaigns -- VERB</c>,
    /// with its launch profile (Development). It runs the Release build the test command made (<c>-c Release --no-build</c>)
    /// rather than compiling a Debug one mid-suite; the profile, environment and working directory are the same.
    /// </summary>
    public static async Task<(int Exit, string Output)> RunAsync(RetentionApp app, string workingDirectory, params string[] verb)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var arg in new[] { "run", "--project", Path.Combine(RepositoryRoot, "src", "RetentionCampaigns"), "-c", "Release", "--no-build", "--" }.Concat(verb))
            start.ArgumentList.Add(arg);
        start.Environment["Database__Provider"] = app.Provider.ToString();
        start.Environment["ConnectionStrings__Retention"] = app.ConnectionString;
        start.Environment["Mail__PickupDirectory"] = app.Outbox;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await output + await error);
    }
}
