using Azure.Storage.Blobs;
using DpIqa.Hosting;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Schedules;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace DpIqa.Tests.Schedules;

/// <summary>
/// Nightly curation on Azurite with in-process silos as a cluster runs them (Azure Table membership and reminders,
/// Azure Blob job state, the Azure Table score cache): curation actions on real blobs, and a schedule whose grain
/// moves to another silo.
/// </summary>
public sealed class NightlyAzuriteTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IAsyncDisposable
{
    private static readonly FakeClock Clock = new(DateTimeOffset.Parse("2026-09-01T00:00:00Z"));
    private TestCluster? _cluster;

    private async Task<TestCluster> StartCluster(int silos)
    {
        _cluster = await ScheduleClusters.Start(azurite, Clock, silos, "test");
        return _cluster;
    }

    public async ValueTask DisposeAsync() => await ScheduleClusters.Stop(_cluster);

    private BlobServiceClient Blobs => new(azurite.ConnectionString);

    /// <summary>The shipped photos, half in set/a, half in set/b.</summary>
    private async Task<BlobContainerClient> UploadPhotos(int count = 10)
    {
        var container = Blobs.GetBlobContainerClient("data-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var photos = Directory.GetFiles(RepoPaths.Photos).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Order().Take(count).ToList();
        for (int i = 0; i < photos.Count; i++)
            await container.UploadBlobAsync($"set/{(i % 2 == 0 ? "a" : "b")}/{Path.GetFileName(photos[i])}", BinaryData.FromBytes(await File.ReadAllBytesAsync(photos[i])));
        return container;
    }

    private static async Task<Dictionary<string, (string Hash, string ETag)>> Fingerprints(BlobContainerClient container)
    {
        var result = new Dictionary<string, (string, string)>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            var content = (await container.GetBlobClient(blob.Name).DownloadContentAsync()).Value;
            result[blob.Name] = (DpIqa.Models.Hashes.Sha256(content.Content.ToArray()), content.Details.ETag.ToString());
        }
        return result;
    }

    private async Task<(JobStatus Status, JobSummary Summary)> Run(IJobGrain job, JobSpec spec)
    {
        await job.Start(spec);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5); // a guard against a hang only
        while (!(await job.GetStatus()).IsFinished)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the job did not end");
            await Task.Delay(200);
        }
        var summary = await job.WaitForOutputs();
        return (await job.GetStatus(), summary);
    }

    [SkippableFact]
    public async Task Tags_and_quarantine_never_change_sources_and_a_rerun_reuses_scores_without_duplicating()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = await UploadPhotos();
        var before = await Fingerprints(container);
        var cluster = await StartCluster(1);
        var quarantine = "quar-" + Guid.NewGuid().ToString("N")[..8];
        var spec = new JobSpec
        {
            Sources = [Locations.Blob($"{container.Name}/set")],
            Model = "proxy-sharpness",
            Output = Locations.Blob($"{container.Name}-out/run1"),
            Format = ResultFormat.Csv,
            ShardSize = 3,
            RejectBottomPercent = 40,
            PerFolder = true,
            Tag = true,
            Quarantine = quarantine,
            Incremental = true,
        };
        await Blobs.GetBlobContainerClient(container.Name + "-out").CreateIfNotExistsAsync();
        var (status, summary) = await Run(cluster.Client.GetGrain<IJobGrain>("cur-1-" + Guid.NewGuid().ToString("N")[..6]), spec);
        Assert.Equal((JobState.Completed, 10L, 0L), (status.State, status.Scored, status.Reused));
        var actions = summary.Actions!;
        output.WriteLine($"run 1: {actions}");
        Assert.Equal(("tags", 10L, 0L), (actions.TagsAs, actions.Tagged, actions.Failed)); // Azurite 3.37 has blob index tags

        // Per folder: within each folder, every rejected image scores below every kept one, and both lists are used.
        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        var rows = new List<ImageResult>();
        foreach (var file in await cluster.Client.GetGrain<IJobGrain>(status.JobId).GetResultFiles()) rows.AddRange(await ResultFiles.Decode(await store.Read(file), ResultFormat.Csv));
        var rejected = System.Text.Encoding.UTF8.GetString(await store.Read(JobLayout.RejectList(spec.Output))).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        foreach (var folder in new[] { "a", "b" })
        {
            var inFolder = rows.Where(r => r.Path.StartsWith(folder + "/", StringComparison.Ordinal)).ToList();
            var (out_, in_) = (inFolder.Where(r => rejected.Contains(r.Path)).ToList(), inFolder.Where(r => !rejected.Contains(r.Path)).ToList());
            Assert.NotEmpty(out_);
            Assert.NotEmpty(in_);
            Assert.True(out_.Max(r => r.Score) < in_.Min(r => r.Score), $"folder {folder}: a rejected image scores above a kept one");
        }
        Assert.Equal(rejected.Count, actions.Quarantined);

        // Each source blob carries its verdict; the quarantine container holds exactly the rejected ones, same names.
        foreach (var row in rows)
        {
            var tags = (await container.GetBlobClient("set/" + row.Path).GetTagsAsync()).Value.Tags;
            Assert.Equal(rejected.Contains(row.Path) ? "reject" : "keep", tags["iqa_verdict"]);
            Assert.Equal(row.Score!.Value, float.Parse(tags["iqa_score"], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(status.JobId, tags["iqa_job"]);
            Assert.StartsWith("proxy-sharpness/", tags["iqa_model"]);
        }
        var quarantined = new List<string>();
        await foreach (var blob in Blobs.GetBlobContainerClient(quarantine).GetBlobsAsync()) quarantined.Add(blob.Name);
        Assert.Equal(rejected.Select(p => "set/" + p).Order(), quarantined.Order());
        var copies = await Fingerprints(Blobs.GetBlobContainerClient(quarantine));
        foreach (var name in quarantined) Assert.Equal(before[name].Hash, copies[name].Hash);

        // A rerun: every score reused (the tags did not change the blobs' versions), nothing copied twice.
        var (again, againSummary) = await Run(cluster.Client.GetGrain<IJobGrain>("cur-2-" + Guid.NewGuid().ToString("N")[..6]), spec with { Output = Locations.Blob($"{container.Name}-out/run2") });
        Assert.Equal((JobState.Completed, 10L, 10L), (again.State, again.Scored, again.Reused));
        Assert.Equal((10L, (long)rejected.Count, 0L), (againSummary.Actions!.Tagged, againSummary.Actions.Quarantined, againSummary.Actions.Failed));
        var quarantinedAgain = await Fingerprints(Blobs.GetBlobContainerClient(quarantine));
        Assert.Equal(copies, quarantinedAgain); // same blobs, same ETags: not copied again

        // Originals: same content and same ETag as before anything ran.
        Assert.Equal(before, await Fingerprints(container));
    }

    [SkippableFact]
    public async Task A_schedule_grain_moving_to_another_silo_neither_loses_nor_duplicates_a_run()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = await UploadPhotos(4);
        var cluster = await StartCluster(2);
        Clock.Set(DateTimeOffset.Parse("2026-09-01T00:00:00Z"));
        var name = "move-" + Guid.NewGuid().ToString("N")[..6];
        var schedule = cluster.Client.GetGrain<IScheduleGrain>(name);
        await schedule.Create(new ScheduleSpec
        {
            Name = name,
            Cron = "0 3 * * *",
            Job = new JobSpec { Sources = [Locations.Blob($"{container.Name}/set")], Model = "proxy-sharpness", Output = Locations.Blob($"{container.Name}/runs"), ShardSize = 2 },
        });
        Clock.Set(DateTimeOffset.Parse("2026-09-01T03:00:30Z"));
        await schedule.Tick();
        var firstJob = ScheduleGrain.JobId(name, DateTimeOffset.Parse("2026-09-01T03:00:00Z"));
        await ScheduleClusters.WaitForRun(schedule, firstJob);

        // The silo hosting the schedule grain stops: the grain comes back on the other silo, from storage.
        var host = await cluster.Client.GetGrain<IManagementGrain>(0).GetActivationAddress(schedule);
        var silo = cluster.Silos.Single(s => s.SiloAddress.Equals(host));
        await cluster.StopSiloAsync(silo);
        if (silo == cluster.Primary) await cluster.InitializeClientAsync(); // the client's gateway was that silo
        schedule = cluster.Client.GetGrain<IScheduleGrain>(name);
        await schedule.Tick(); // the same occurrence again, on the new silo: taken already
        var status = await schedule.GetStatus();
        Assert.Equal([firstJob], status!.Runs.Select(r => r.JobId));
        Assert.Equal(JobState.Completed, status.Runs[0].State);

        Clock.Set(DateTimeOffset.Parse("2026-09-02T03:00:10Z"));
        await schedule.Tick();
        await schedule.Tick();
        var secondJob = ScheduleGrain.JobId(name, DateTimeOffset.Parse("2026-09-02T03:00:00Z"));
        var second = await ScheduleClusters.WaitForRun(schedule, secondJob);
        Assert.Equal((4L, 0L, 4L), (second.Images, second.Scored, second.Reused)); // the Azure Table score cache
        Assert.Equal([secondJob, firstJob], (await schedule.GetStatus())!.Runs.Select(r => r.JobId));
        var jobs = (await cluster.Client.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).AllJobs()).Where(j => j.StartsWith(name, StringComparison.Ordinal)).Order();
        Assert.Equal(new[] { firstJob, secondJob }.Order(), jobs);
        await schedule.Delete();
    }
}
