using DpIqa.Hosting;
using DpIqa.Jobs;
using Orleans.TestingHost;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// One in-process silo with the DpIqa grains, no scoring workers (the test plays the worker, or needs none), the test's
/// settings and a job state storage of its choosing: the set-up the job grain's and the job index's tests share.
/// </summary>
internal static class OneSiloCluster
{
    /// <summary>Starts the silo; <typeparamref name="TJobStorage"/> adds the job state storage (e.g. <see cref="MemoryJobStorage"/>).</summary>
    public static async Task<TestCluster> Start<TJobStorage>(IReadOnlyDictionary<string, string>? settings = null) where TJobStorage : ISiloConfigurator, new()
    {
        var builder = new TestClusterBuilder(1);
        builder.Properties["Scoring:Enabled"] = "false";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<TJobStorage>(); // before the grains, as a silo host adds its storage first
        builder.AddSiloBuilderConfigurator<DpIqaGrains>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static async Task Stop(TestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    /// <summary>The DpIqa grains and services, configured from the test's settings (the cluster's properties).</summary>
    private sealed class DpIqaGrains : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddDpIqa(silo.Configuration);
    }
}

/// <summary>Job state in memory.</summary>
internal sealed class MemoryJobStorage : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo) => silo.AddMemoryGrainStorage(JobGrain.StorageName);
}
