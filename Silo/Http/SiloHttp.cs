using System.Text.Json;
using DpIqa.Silo.Http.Api;
using DpIqa.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;

namespace DpIqa.Silo.Http;

/// <summary>Configuration section <c>Http</c>: the silo's HTTP endpoint (metrics, health, scaling, dashboard).</summary>
internal sealed class HttpOptions
{
    public const string Section = "Http";

    /// <summary>Port on all interfaces; 0 turns the endpoint off.</summary>
    public int Port { get; set; } = 8080;
}

/// <summary>Configuration section <c>Dashboard</c>.</summary>
internal sealed class DashboardSettings
{
    public const string Section = "Dashboard";

    /// <summary>Serve the Orleans Dashboard at /dashboard, to callers with a token of the reader role or above (TokenAuthentication).</summary>
    public bool Enabled { get; set; }
}

/// <summary>
/// The one place the silo's HTTP endpoint is wired: <c>/metrics</c> (Prometheus text of the DpIqa and Orleans meters),
/// <c>/healthz/live</c>, <c>/healthz/ready</c>, <c>/scaling</c> and, when enabled, <c>/dashboard</c>.
/// </summary>
internal static class SiloHttp
{
    /// <summary>Orleans' own meter, exported beside ours.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// Adds the HTTP endpoint unless <c>Http:Port</c> is 0. Call before UseOrleans: the web server then starts first, so
    /// /healthz answers (ready: 503) while the silo is still joining, and stops last, answering while the silo drains.
    /// </summary>
    public static IHostBuilder UseSiloHttp(this IHostBuilder host, IConfiguration configuration)
    {
        var http = configuration.GetSection(HttpOptions.Section).Get<HttpOptions>() ?? new HttpOptions();
        if (http.Port == 0) return host;
        bool dashboard = DashboardEnabled(configuration);
        return host.ConfigureWebHostDefaults(web => web
            .ConfigureKestrel(kestrel => kestrel.ListenAnyIP(http.Port))
            .ConfigureServices(services =>
            {
                services.AddSingleton<Readiness>();
                services.AddSingleton<ScalingReader>();
                services.AddRouting();
                services.AddDpIqaApi();
                services.AddTokenAuthentication(configuration); // /dashboard and anything that changes something need a token
                services.AddOpenTelemetry().WithMetrics(metrics => metrics
                    .AddMeter(DpIqaMetrics.MeterName, OrleansMeter)
                    // Every scrape sees the counts of that moment (tests and the demo compare them with job totals).
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
            })
            .Configure(app =>
            {
                app.UseRouting();
                app.UseAuthentication();
                app.UseAuthorization();
                app.UseEndpoints(endpoints => Map(endpoints, dashboard));
            }));
    }

    /// <summary>Whether <c>Dashboard:Enabled</c>; the silo then also adds the dashboard's grains and services.</summary>
    public static bool DashboardEnabled(IConfiguration configuration) =>
        configuration.GetSection(DashboardSettings.Section).Get<DashboardSettings>()?.Enabled ?? false;

    private static void Map(IEndpointRouteBuilder endpoints, bool dashboard)
    {
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        endpoints.MapGet("/healthz/live", () => Microsoft.AspNetCore.Http.Results.Json(new { status = "live" }, Json));
        endpoints.MapGet("/healthz/ready", async (Readiness readiness, CancellationToken ct) =>
            await readiness.Check(ct) is { } reason
                ? Microsoft.AspNetCore.Http.Results.Json(new { status = "not ready", reason }, Json, statusCode: StatusCodes.Status503ServiceUnavailable)
                : Microsoft.AspNetCore.Http.Results.Json(new { status = "ready" }, Json));
        endpoints.MapGet("/scaling", async (ScalingReader scaling, CancellationToken ct) =>
        {
            try
            {
                return Microsoft.AspNetCore.Http.Results.Json(await scaling.Read(ct), Json);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Not joined yet, or the catalog is moving between silos: the autoscaler keeps its last value.
                return Microsoft.AspNetCore.Http.Results.Json(new { reason = $"the cluster's jobs cannot be read now: {e.Message.Split('\n')[0]}" }, Json,
                    statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        // The dashboard shows every grain and silo and can be slow to render: readers and up only. /metrics, /healthz and
        // /scaling stay open for Prometheus, the kubelet and KEDA (the NetworkPolicy says who reaches them).
        if (dashboard) endpoints.MapGroup("").RequireRole(Role.Reader).MapOrleansDashboard(routePrefix: "/dashboard");
        // The JSON API takes the same tokens: readers read, operators change (submit, cancel, schedules). The console's
        // static files stay open; the data they show comes through the API.
        endpoints.MapDpIqaApi().RequireReaderChangesOperator();
        endpoints.MapWebConsole();
    }
}
