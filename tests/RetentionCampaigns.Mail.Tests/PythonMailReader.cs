using System.Diagnostics;
using System.Text.Json;

namespace RetentionCampaigns.Mail.Tests;

/// <summary>Reads .eml files through Python's email package (strict policy): an independent MIME implementation.</summary>
public static class PythonMailReader
{
    public sealed record Part(string Content, string Encoding, string Charset);

    public sealed record Parsed(string File, string Subject, List<List<string>> From, List<List<string>> To, string MessageId, string Date,
        string? ListUnsubscribe, string? ListUnsubscribePost, Dictionary<string, string> Headers, string ContentType,
        Dictionary<string, Part> Parts, int MaxLine, int BareLineFeeds);

    public static List<Parsed> Read(IEnumerable<string> files)
    {
        var start = new ProcessStartInfo(ExternalServer.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "parse_messages.py"));
        foreach (var file in files) start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"Python's email parser refused a message: {error.Result}");
        return JsonSerializer.Deserialize<List<Parsed>>(output.Result, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }
}
