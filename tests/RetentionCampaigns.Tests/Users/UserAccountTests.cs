using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using RetentionCampaigns.Data;
using RetentionCampaigns.Tests.Harness;
using RetentionCampaigns.Users;

namespace RetentionCampaigns.Tests.Users;

/// <summary>Issue 16, sign-in foundation: accounts with a role, created and reset from the CLI, passwords only as hashes.</summary>
public sealed class UserAccountTests
{
    [Theory, ClassData(typeof(BothStores))]
    public async Task AnAccountIsCreatedWithAGeneratedPasswordShownOnceAndOnlyItsHashIsStored(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (user, password) = await app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync(" Anna@Shop.Example ", UserRoles.Marketer, default));
        Assert.Equal(("anna@shop.example", "marketer"), (user.Email, user.Role));
        Assert.Matches("^[a-z2-9]{5}(-[a-z2-9]{5}){3}$", password);
        var stored = await app.WithDbAsync(db => db.Users.AsNoTracking().SingleAsync());
        Assert.DoesNotContain(password, stored.PasswordHash);

        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("ANNA@shop.example", password, default)));
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("anna@shop.example", password + "x", default)));
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("nobody@shop.example", password, default)));

        var again = await Assert.ThrowsAsync<UserAccounts.Refused>(() => app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("anna@shop.example", "admin", default)));
        Assert.Equal("email", again.Field);
        Assert.Equal("role", (await Assert.ThrowsAsync<UserAccounts.Refused>(() => app.ServiceAsync<UserAccounts, (User, string)>(a => a.CreateAsync("ben@shop.example", "boss", default)))).Field);

        var reset = await app.ServiceAsync<UserAccounts, string>(a => a.ResetPasswordAsync("anna@shop.example", default));
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("anna@shop.example", password, default)));
        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("anna@shop.example", reset, default)));

        await app.WithDbAsync(db => db.Users.ExecuteUpdateAsync(u => u.SetProperty(x => x.DisabledAt, DateTime.UtcNow)));
        Assert.Null(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("anna@shop.example", reset, default)));
    }

    [Theory, ClassData(typeof(BothStores))]
    public async Task TheCliCreatesAnAdminAndResetsItsPassword(DatabaseProvider store)
    {
        await using var app = await RetentionApp.StartAsync(store);
        var (exit, output) = await CliRunner.RunAsync(app, AppContext.BaseDirectory, "user", "create", "chef@shop.example", "--role", "admin");
        Assert.True(exit == 0, output);
        var password = Regex.Match(output, "password (?<password>[a-z2-9-]{23})").Groups["password"].Value;
        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("chef@shop.example", password, default)));

        var (resetExit, resetOutput) = await CliRunner.RunAsync(app, AppContext.BaseDirectory, "user", "reset-password", "chef@shop.example");
        Assert.True(resetExit == 0, resetOutput);
        var reset = Regex.Match(resetOutput, "is (?<password>[a-z2-9-]{23})").Groups["password"].Value;
        Assert.NotEqual(password, reset);
        Assert.NotNull(await app.ServiceAsync<UserAccounts, User?>(a => a.VerifyAsync("chef@shop.example", reset, default)));

        var (badExit, badOutput) = await CliRunner.RunAsync(app, AppContext.BaseDirectory, "user", "create", "not-an-address", "--role", "admin");
        Assert.Equal(1, badExit);
        Assert.Contains("email: is not a valid email address.", badOutput);
    }
}
