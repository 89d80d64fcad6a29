using DpIqa.Hosting;
using DpIqa.Silo;
using DpIqa.Silo.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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
try
{
    // Inside the try: reading Http:Port and Cluster:* can already meet a bad setting (Http__Port=abc).
    builder.UseSiloHttp(settings);
    builder.UseOrleans((context, silo) =>
    {
        silo.UseDpIqaCluster(context.Configuration);
        silo.AddDpIqa(context.Configuration);
        if (SiloHttp.DashboardEnabled(context.Configuration)) silo.AddDashboard();
    });
    using var host = builder.Build();
    // The settings are checked before the silo starts anything (joins the cluster, opens its ports): a bad one stops it
    // with the one line below, not with the host's "Hosting failed to start" log and stack trace.
    host.Services.GetService<IStartupValidator>()?.Validate();
    // Likewise a port another process holds (a second silo on one machine shares the defaults).
    if (BusyPorts.Check(settings) is { } busy)
    {
        Console.Error.WriteLine($"dpiqa silo: {busy}");
        return 1;
    }
    await host.RunAsync();
}
catch (Exception e) when (SettingsValidation.Describe(e) is { } line)
{
    // A bad setting (Inference:MaxBatch=-1, Inference:Device=gpu): the key and what to do, exit 2 as dpiqa's invalid request.
    Console.Error.WriteLine($"dpiqa silo: {line}");
    return 2;
}
catch (Exception e) when (BusyPorts.Describe(e, settings) is { } line)
{
    // A port taken after the check above: the same line, exit 1 (the environment, not the request, is wrong).
    Console.Error.WriteLine($"dpiqa silo: {line}");
    return 1;
}
return 0;
