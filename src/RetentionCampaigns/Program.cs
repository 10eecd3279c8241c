using RetentionCampaigns;
using RetentionCampaigns.Cli;

var command = CommandLine.Parse(args);
var builder = WebApplication.CreateBuilder(command.HostArgs);
builder.AddRetentionCampaigns(command);
var app = builder.Build();
app.MapRetentionCampaigns();
return await command.RunAsync(app);

public partial class Program;
