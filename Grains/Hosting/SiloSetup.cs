using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Scoring;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DpIqa.Hosting;

/// <summary>The one place where a silo's DP-IQA capabilities are wired up, from configuration.</summary>
public static class SiloSetup
{
    /// <summary>Name of the grain storage holding job and catalog state.</summary>
    public const string JobStorage = "jobs";

    /// <summary>
    /// Adds model catalog, inference, imaging limits, job options and (when <c>Scoring:Enabled</c>) the
    /// scoring workers. Clustering and grain storage named <c>jobs</c> are the host's choice.
    /// </summary>
    public static ISiloBuilder AddDpIqa(this ISiloBuilder silo, IConfiguration configuration)
    {
        var services = silo.Services;
        services.AddOptions<ImageLimits>().Bind(configuration.GetSection(ImageLimits.Section));
        services.AddOptions<ModelOptions>().Bind(configuration.GetSection(ModelOptions.Section));
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection(InferenceOptions.Section));
        services.AddOptions<JobOptions>().Bind(configuration.GetSection(JobOptions.Section));
        services.AddOptions<ScoringOptions>().Bind(configuration.GetSection(ScoringOptions.Section));
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddSingleton<ObjectStore>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<InferenceService>();
        services.AddSingleton<ShardScorer>();
        if (configuration.GetSection(ScoringOptions.Section).GetValue(nameof(ScoringOptions.Enabled), true))
            services.AddHostedService<ScoringWorker>();
        return silo;
    }
}
