using System.Text.RegularExpressions;
using RetentionCampaigns.Tests.Harness;

namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 19: a 42 KB README, half benchmark figures, pointing outside the repository.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public void TheReadmeIsForNewcomersAndTheReferenceLivesInDocsInsideTheRepository()
    {
        var readme = File.ReadAllText(Path.Combine(CliRunner.RepositoryRoot, "README.md"));
        Assert.True(readme.Length < 12_000, $"README.md is {readme.Length} characters");
        var commands = Regex.Matches(readme, "```sh\\n(?<command>[^\\n]+)\\n```").Select(m => m.Groups["command"].Value).Take(2).ToList();
        Assert.Equal(["dotnet run --project src/RetentionCampaigns -- --demo --urls http://127.0.0.1:5080", "bash tests/run.sh"], commands);

        var documents = Directory.GetFiles(Path.Combine(CliRunner.RepositoryRoot, "docs"), "*.md");
        foreach (var name in new[] { "api.md", "configuration.md", "definitions.md", "operations.md", "benchmarks.md" })
            Assert.Contains(documents, d => Path.GetFileName(d) == name);
        foreach (var file in documents.Append(Path.Combine(CliRunner.RepositoryRoot, "README.md")))
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain("../shared", text);
            Assert.DoesNotContain("DOMAIN.md", text);
            // Every link to a document of ours leads to a file that exists.
            foreach (Match link in Regex.Matches(text, @"\]\((?<target>[^)#:]+\.md)\)"))
                Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, link.Groups["target"].Value))), $"{file}: {link.Value}");
        }
        Assert.Contains("Champions", File.ReadAllText(Path.Combine(CliRunner.RepositoryRoot, "docs", "definitions.md")));
    }
}
