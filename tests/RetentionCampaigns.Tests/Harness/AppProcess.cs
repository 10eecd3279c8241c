using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace RetentionCampaigns.Tests.Harness;

/// <summary>
/// The real app as a process of its own (the built RetentionCampaigns.dll beside this assembly), configured by
/// environment variables, as an operator would run it: for scenarios that kill it or run several nodes, and for
/// benchmarks that measure its memory. Also used by the benchmark project (linked source), so no xunit here.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();

    public string Name { get; }
    public Uri BaseAddress { get; }
    public HttpClient Api { get; }
    public int ProcessId => process.Id;
    public bool HasExited => process.HasExited;

    AppProcess(string name, Process process, Uri baseAddress, string apiKey)
    {
        Name = name;
        this.process = process;
        BaseAddress = baseAddress;
        Api = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>The API key the <see cref="Api"/> client sends from now on.</summary>
    public void UseApiKey(string apiKey) => Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

    static string AppDll => Path.Combine(AppContext.BaseDirectory, "RetentionCampaigns.dll");

    /// <summary>Configuration for one app on a database: provider and connection, plus anything else (Mail:*, Scheduling:*).</summary>
    public static Dictionary<string, string> Settings(string provider, string connectionString, IReadOnlyDictionary<string, string>? more = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Retention"] = connectionString,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:RetentionCampaigns"] = "Information",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>()) settings[key] = value;
        return settings;
    }

    /// <summary>Runs a CLI verb of the app to its end and returns what it printed (e.g. <c>apikey create</c>).</summary>
    public static async Task<string> RunVerbAsync(IReadOnlyDictionary<string, string> settings, params string[] verb)
    {
        using var cli = Process.Start(StartInfo(settings, verb))!;
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        await cli.WaitForExitAsync();
        if (cli.ExitCode != 0) throw new InvalidOperationException($"app {string.Join(' ', verb)} exited with {cli.ExitCode}: {await stderr}{await stdout}");
        return (await stdout).Trim();
    }

    /// <summary>Creates an API key with the CLI (which migrates the database first); the key is the last line it prints.</summary>
    public static async Task<string> CreateApiKeyAsync(IReadOnlyDictionary<string, string> settings, string name) =>
        (await RunVerbAsync(settings, "apikey", "create", name)).Split('\n')[^1].Trim();

    /// <summary>Creates a person who signs in to the UI with the CLI and returns the password it printed once.</summary>
    public static async Task<string> CreateUserAsync(IReadOnlyDictionary<string, string> settings, string email, string role)
    {
        var printed = await RunVerbAsync(settings, "user", "create", email, "--role", role);
        return System.Text.RegularExpressions.Regex.Match(printed, @"with the password (\S+) \(shown only now\)") is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException($"user create printed no password: {printed}");
    }

    /// <summary>The demo admin's e-mail and password from the banner of an app started with --demo.</summary>
    public async Task<(string Email, string Password)> DemoSignInAsync()
    {
        for (var i = 0; i < 600; i++)
        {
            if (System.Text.RegularExpressions.Regex.Match(Output, @"Demo sign-in: (\S+) / (\S+)") is { Success: true } m) return (m.Groups[1].Value, m.Groups[2].Value);
            await Task.Delay(100);
        }
        throw new TimeoutException($"app {Name} printed no demo sign-in within 60 s:\n{Output}");
    }

    /// <summary>Starts the app and waits until /health answers.</summary>
    /// <param name="arguments">More command-line arguments, e.g. --demo.</param>
    public static async Task<AppProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, string apiKey, params string[] arguments)
    {
        var port = FreePort();
        var info = StartInfo(settings, ["--urls", $"http://127.0.0.1:{port}", .. arguments]);
        var app = new AppProcess(name, Process.Start(info)!, new Uri($"http://127.0.0.1:{port}"), apiKey);
        app.process.OutputDataReceived += (_, e) => app.Record(e.Data);
        app.process.ErrorDataReceived += (_, e) => app.Record(e.Data);
        app.process.BeginOutputReadLine();
        app.process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (app.process.HasExited) throw new InvalidOperationException($"app {name} exited at start-up:\n{app.Output}");
            try
            {
                if ((await app.Api.GetAsync("/health")).IsSuccessStatusCode) return app;
            }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        app.Kill();
        throw new TimeoutException($"app {name} did not answer /health within 60 s:\n{app.Output}");
    }

    static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string> settings, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(AppDll);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in settings) info.Environment[key.Replace(":", "__")] = value;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        return info;
    }

    void Record(string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    /// <summary>Everything the app printed so far (logs), for a failing scenario's message.</summary>
    public string Output
    {
        get { lock (output) return output.ToString(); }
    }

    /// <summary>The most memory the process has held (VmHWM: peak resident set), in bytes; Linux only.</summary>
    public long PeakMemoryBytes
    {
        get
        {
            var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
    }

    /// <summary>CPU time the process has used so far (user and system).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a node loses power.</summary>
    public void Kill()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    /// <summary>SIGTERM and wait for the host to stop (jobs finish, as on a deployment).</summary>
    public async Task StopAsync()
    {
        if (process.HasExited) return;
        using (Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) { }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        Api.Dispose();
        process.Dispose();
        await Task.CompletedTask;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
