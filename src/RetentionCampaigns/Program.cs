using RetentionCampaigns;
using RetentionCampaigns.Cli;

var command = CommandLine.Parse(args);
// The app's files (appsettings, wwwroot) sit beside the executable; the working directory is the caller's (relative paths).
var builder = WebApplication.CreateBuilder(command.HostArgs.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase))
    ? new WebApplicationOptions { Args = command.HostArgs }
    : new WebApplicationOptions { Args = command.HostArgs, ContentRootPath = AppContext.BaseDirectory });
builder.AddRetentionCampaigns(command);
var app = builder.Build();
app.MapRetentionCampaigns();
return await command.RunAsync(app);

public partial class Program;
