using DpIqa.Hosting;
using DpIqa.Silo.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Dashboard;

// A silo: grains, model catalog, inference and (where Scoring:Enabled) scoring workers, plus its HTTP endpoint
// (Http:Port: /metrics, /healthz/live, /healthz/ready, /scaling, /dashboard when Dashboard:Enabled).
// Everything comes from configuration: appsettings.json, then environment variables
// (Storage__ConnectionString=..., Cluster__SiloPort=11112, Inference__Device=cuda, Scoring__Enabled=false, Http__Port=0, ...).
var builder = Host.CreateDefaultBuilder(args);
// The same sources the host reads, read once here: whether to add the web server is decided before the host is built.
var settings = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddJsonFile($"appsettings.{Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Production"}.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args)
    .Build();
builder.UseSiloHttp(settings);
builder.UseOrleans((context, silo) =>
{
    silo.UseDpIqaCluster(context.Configuration);
    silo.AddDpIqa(context.Configuration);
    if (SiloHttp.DashboardEnabled(context.Configuration)) silo.AddDashboard();
});
await builder.Build().RunAsync();
