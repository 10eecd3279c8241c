using System.Diagnostics;
using System.Globalization;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Tests.Scenarios;

/// <summary>
/// A real SMTP server (delivery_counter.py on aiosmtpd) that logs the X-RC-Delivery header of every message it
/// accepts, optionally with faults: the scenarios' witness of what arrived how often.
/// </summary>
public sealed class DeliveryCounter : IDisposable
{
    readonly Process process;
    readonly string log;

    public int Port { get; }

    DeliveryCounter(Process process, int port, string log) => (this.process, Port, this.log) = (process, port, log);

    /// <param name="faults">Options of delivery_counter.py, e.g. "--fail-every", "10".</param>
    public static async Task<DeliveryCounter> StartAsync(params string[] faults)
    {
        var port = AppProcess.FreePort();
        var log = Path.Combine(Path.GetTempPath(), $"rc-deliveries-{Guid.NewGuid():N}.log");
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; // Debian's has aiosmtpd
        var start = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Scenarios", "delivery_counter.py"), "--port", port.ToString(CultureInfo.InvariantCulture), "--log", log }.Concat(faults))
            start.ArgumentList.Add(argument);
        var process = Process.Start(start)!;
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (ready != "READY") throw new InvalidOperationException($"delivery_counter.py did not start: {ready} {await process.StandardError.ReadToEndAsync()}");
        _ = process.StandardError.ReadToEndAsync(); // drain, so a chatty server never blocks
        return new DeliveryCounter(process, port, log);
    }

    /// <summary>The app's settings for sending here over plain SMTP with a pool of <paramref name="poolSize"/>.</summary>
    public Dictionary<string, string> AppSettings(int poolSize = 8) => new()
    {
        ["Mail:Transport"] = "Smtp", ["Mail:Smtp:Host"] = "127.0.0.1", ["Mail:Smtp:Port"] = Port.ToString(CultureInfo.InvariantCulture),
        ["Mail:Smtp:Security"] = "None", ["Mail:Smtp:PoolSize"] = poolSize.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Every accepted message's delivery id, in the order the server accepted them.</summary>
    public List<string> Accepted()
    {
        using var stream = new FileStream(log, FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            if (line.Length > 0) lines.Add(line);
        return lines;
    }

    public int Count => Accepted().Count;

    public async Task WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the server has {Count} messages, not {count}, after {timeout}.");
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.Dispose();
        File.Delete(log);
    }
}
