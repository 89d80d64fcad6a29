using System.Collections.Concurrent;
using DpIqa.Hosting;
using DpIqa.Schedules;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace DpIqa.Tests.Schedules;

/// <summary>
/// In-process silos on Azurite as a cluster runs schedules: Azure Table membership and reminders, Azure Blob job state,
/// the Azure Table score cache, and the test's <see cref="FakeClock"/> as the schedules' clock.
/// </summary>
internal static class ScheduleClusters
{
    // The silo configurator is built by the test host: it finds its test's clock by name.
    private static readonly ConcurrentDictionary<string, FakeClock> Clocks = new();

    private sealed class SiloConfig : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var config = silo.Configuration;
            var storage = new StorageOptions { ConnectionString = config["Storage:ConnectionString"] };
            silo.UseAzureStorageClustering(o => o.TableServiceClient = SiloSetup.TableClient(storage));
            SiloSetup.AddJobStorage(silo, storage);
            silo.UseAzureTableReminderService(o => o.TableServiceClient = SiloSetup.TableClient(storage));
            silo.Services.AddSingleton(new ScheduleClock(Clocks[config["Test:Clock"]!]));
            silo.AddDpIqa(config);
        }
    }

    /// <summary>Starts <paramref name="silos"/> silos of a cluster of its own (ClusterId <c>PREFIX-random</c>) with <paramref name="settings"/> added.</summary>
    public static async Task<TestCluster> Start(Azurite azurite, FakeClock clock, int silos, string clusterIdPrefix, IReadOnlyDictionary<string, string>? settings = null)
    {
        var clockName = Guid.NewGuid().ToString("N");
        Clocks[clockName] = clock;
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.UseTestClusterMembership = false;
        builder.Options.ClusterId = clusterIdPrefix + "-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["Storage:ConnectionString"] = azurite.ConnectionString;
        builder.Properties["Test:Clock"] = clockName;
        builder.Properties["Jobs:SaveIntervalMs"] = "300";
        builder.Properties["Scoring:PollIntervalMs"] = "100";
        builder.Properties["Inference:MaxWaitMs"] = "2";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.Properties[key] = value;
        builder.AddSiloBuilderConfigurator<SiloConfig>();
        builder.AddClientBuilderConfigurator<AzuriteClientConfig>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Stops and disposes a cluster <see cref="Start"/> made (nothing when it never started).</summary>
    public static async Task Stop(TestCluster? cluster)
    {
        if (cluster is null) return;
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }

    /// <summary>The run <paramref name="jobId"/> of <paramref name="schedule"/> once it ended (completed, failed or cancelled).</summary>
    public static async Task<ScheduleRun> WaitForRun(IScheduleGrain schedule, string jobId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5); // a guard against a hang only
        while (true)
        {
            var run = (await schedule.GetStatus())!.Runs.Single(r => r.JobId == jobId);
            if (run.State is not (JobState.Pending or JobState.Running)) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {jobId} did not end: {run}");
            await Task.Delay(300);
        }
    }
}
