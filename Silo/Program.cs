using DpIqa.Hosting;
using Microsoft.Extensions.Hosting;

// A silo: grains, model catalog, inference and (where Scoring:Enabled) scoring workers.
// Everything comes from configuration: appsettings.json, then environment variables
// (Storage__ConnectionString=..., Cluster__SiloPort=11112, Inference__Device=cuda, Scoring__Enabled=false, ...).
var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo =>
{
    silo.UseDpIqaCluster(builder.Configuration);
    silo.AddDpIqa(builder.Configuration);
});
await builder.Build().RunAsync();
