using DpIqa.Hosting;
using Microsoft.Extensions.Hosting;

// A silo: grains, model catalog, inference and (where Scoring:Enabled) scoring workers.
// Everything comes from configuration: appsettings.json, then environment variables (Inference__Device=cuda, ...).
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo =>
{
    silo.UseLocalhostClustering();
    silo.AddMemoryGrainStorage(SiloSetup.JobStorage);
    silo.AddDpIqa(builder.Configuration);
});
await builder.Build().RunAsync();
