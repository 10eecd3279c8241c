namespace RetentionCampaigns.Tests.FirstHour;

/// <summary>Issue 15, finding 18: the compose build sent the database, the outbox and bin/obj to the Docker daemon.</summary>
public sealed class DockerIgnoreTests
{
    [Fact]
    public void TheBuildContextLeavesOutLocalStateAndBuildOutput()
    {
        var path = Path.Combine(Harness.CliRunner.RepositoryRoot, ".dockerignore");
        Assert.True(File.Exists(path), ".dockerignore is missing beside docker-compose.yml");
        var rules = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToHashSet();
        foreach (var rule in new[] { "**/bin/", "**/obj/", "**/*.db", "**/*.db-wal", "**/outbox/", ".git/" })
            Assert.Contains(rule, rules);
        // What the image is built from stays in the context.
        Assert.DoesNotContain(rules, r => r.TrimEnd('/') is "src" or "templates" or "**" or "*");
    }
}
