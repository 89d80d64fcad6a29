using System.Security.Cryptography;
using Azure.Storage.Blobs;
using DpIqa.Hosting;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Schedules;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using DpIqa.Tests.Schedules;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace DpIqa.Tests.Dedup;

/// <summary>
/// <c>--dedup</c> in a cluster on Azurite (two in-process silos, Azure Table membership, reminders and score cache, blob
/// job state and results): a job of several shards groups copies across shards, and a nightly schedule rejects a new
/// worse copy of an image it kept and promotes a new better copy over the one it kept before. The model is a tiny ONNX
/// graph scoring the mean pixel (higher is better), so which copy is better is known: the brighter one.
/// </summary>
public sealed class DedupAzuriteTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IAsyncDisposable
{
    private readonly FakeClock _clock = new(DateTimeOffset.Parse("2026-10-01T00:00:00Z"));
    private readonly TempFolder _models = new();
    private TestCluster? _cluster;

    private async Task<TestCluster> StartCluster()
    {
        TinyModels.Add(_models.Path, "brightness", 0f, 1f, [0, 1]);
        _cluster = await ScheduleClusters.Start(azurite, _clock, 2, "dedup", new Dictionary<string, string> { ["Models:Path"] = _models.Path });
        return _cluster;
    }

    public async ValueTask DisposeAsync()
    {
        await ScheduleClusters.Stop(_cluster);
        _models.Dispose();
    }

    private BlobServiceClient Blobs => new(azurite.ConnectionString);

    private ObjectStore Store => new(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));

    private static string Photo(string name) => Path.Combine(RepoPaths.Photos, name);

    private async Task<BlobContainerClient> Upload(Dictionary<string, byte[]> files, BlobContainerClient? container = null)
    {
        if (container is null)
        {
            container = Blobs.GetBlobContainerClient("dd-" + Guid.NewGuid().ToString("N")[..8]);
            await container.CreateAsync();
        }
        foreach (var (name, bytes) in files) await container.UploadBlobAsync(name, BinaryData.FromBytes(bytes));
        return container;
    }

    private async Task<string> Text(string location) => System.Text.Encoding.UTF8.GetString(await Store.Read(location));

    private async Task<List<string[]>> DuplicateLines(string jobOutput) =>
        (await Text(JobLayout.DuplicatesList(jobOutput))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(',')).ToList();

    [SkippableFact]
    public async Task A_job_of_several_shards_groups_copies_across_shards_and_keeps_the_best()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        string coffee = Photo("skimage-coffee.png"), chelsea = Photo("skimage-chelsea.png"), astronaut = Photo("skimage-astronaut.png");
        var files = new Dictionary<string, byte[]>
        {
            ["set/a/coffee.png"] = File.ReadAllBytes(coffee),
            ["set/a/chelsea.png"] = File.ReadAllBytes(chelsea),
            ["set/a/astronaut.png"] = File.ReadAllBytes(astronaut),
            ["set/b/coffee-bright.png"] = Variants.Brightness(coffee, 1.1),
            ["set/b/coffee-small.jpg"] = Variants.Resized(coffee, 0.4, 60),
            ["set/c/chelsea-dark.png"] = Variants.Brightness(chelsea, 0.9),
            ["set/c/astronaut.webp"] = Variants.Reencoded(astronaut, SkiaSharp.SKEncodedImageFormat.Webp, 85),
            ["set/c/astronaut-copy.png"] = File.ReadAllBytes(astronaut),
        };
        var container = await Upload(files);
        var cluster = await StartCluster();
        var spec = new JobSpec
        {
            Sources = [Locations.Blob($"{container.Name}/set")],
            Model = "brightness",
            Output = Locations.Blob($"{container.Name}/out"),
            Format = ResultFormat.Parquet,
            ShardSize = 2, // four shards: every group spans two or more
            Dedup = DedupMode.Near,
        };
        var job = cluster.Client.GetGrain<IJobGrain>("dd-job-" + Guid.NewGuid().ToString("N")[..6]);
        await job.Start(spec);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5); // a guard against a hang only
        while (!(await job.GetStatus()).IsFinished)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not end");
            await Task.Delay(200);
        }
        var summary = await job.WaitForOutputs();
        var status = await job.GetStatus();
        Assert.Equal((JobState.Completed, 8L, 4), (status.State, status.Scored, status.Shards));

        var rows = await JobLayout.ReadResults(Store, await job.GetResultFiles(), ResultFormat.Parquet);
        foreach (var r in rows)
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(files["set/" + r.Path])), r.ContentMd5); // the listing's Content-MD5 or the bytes': the same

        var lines = await DuplicateLines(spec.Output);
        foreach (var l in lines) output.WriteLine(string.Join(", ", l));
        var groups = lines.GroupBy(l => l[0]).Select(g => g.Select(l => l[1]).Order(StringComparer.Ordinal).ToArray()).OrderBy(g => g[0], StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            ["a/astronaut.png", "c/astronaut-copy.png", "c/astronaut.webp"],
            ["a/chelsea.png", "c/chelsea-dark.png"],
            ["a/coffee.png", "b/coffee-bright.png", "b/coffee-small.jpg"],
        ], groups);
        var byPath = rows.ToDictionary(r => r.Path);
        foreach (var g in lines.GroupBy(l => l[0]))
        {
            var best = g.Select(l => byPath[l[1]]).OrderByDescending(r => r.Score).ThenByDescending(r => (long)r.Width!.Value * r.Height!.Value).ThenBy(r => r.Path, StringComparer.Ordinal).First();
            Assert.Equal(best.Path, g.Single(l => l[3] == "true")[1]);
        }
        Assert.Equal("b/coffee-bright.png", lines.Single(l => l[1].Contains("coffee") && l[3] == "true")[1]);
        Assert.Equal("a/chelsea.png", lines.Single(l => l[1].Contains("chelsea") && l[3] == "true")[1]);

        var rejected = (await Text(JobLayout.RejectList(spec.Output))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0]).Order(StringComparer.Ordinal);
        Assert.Equal(lines.Where(l => l[3] == "false").Select(l => l[1]).Order(StringComparer.Ordinal), rejected);
        Assert.Equal(lines.Where(l => l[3] == "true").Select(l => l[1]).Order(StringComparer.Ordinal),
            (await Text(JobLayout.KeepList(spec.Output))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        var dup = summary.Duplicates!;
        Assert.Equal((3L, 8L, 5L, 0L), (dup.Groups, dup.ImagesInGroups, dup.Rejected, dup.Replaced));
        Assert.Equal((3L, 5L), (summary.Curation!.Keep, summary.Curation.Reject));
    }

    [SkippableFact]
    public async Task A_nightly_run_rejects_a_worse_new_copy_and_promotes_a_better_one()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        string coffee = Photo("skimage-coffee.png"), chelsea = Photo("skimage-chelsea.png"), astronaut = Photo("skimage-astronaut.png");
        var container = await Upload(new Dictionary<string, byte[]>
        {
            ["set/a/coffee.png"] = File.ReadAllBytes(coffee),
            ["set/a/chelsea.png"] = File.ReadAllBytes(chelsea),
            ["set/a/astronaut.png"] = File.ReadAllBytes(astronaut),
        });
        var cluster = await StartCluster();
        var name = "dd-nightly-" + Guid.NewGuid().ToString("N")[..6];
        var schedule = cluster.Client.GetGrain<IScheduleGrain>(name);
        _clock.Set(DateTimeOffset.Parse("2026-10-01T00:00:00Z"));
        await schedule.Create(new ScheduleSpec
        {
            Name = name,
            Cron = "0 3 * * *",
            Job = new JobSpec
            {
                Sources = [Locations.Blob($"{container.Name}/set")], Model = "brightness", Output = Locations.Blob($"{container.Name}/runs"),
                ShardSize = 2, Dedup = DedupMode.Near,
            },
        });
        _clock.Set(DateTimeOffset.Parse("2026-10-01T03:00:30Z"));
        await schedule.Tick();
        var first = ScheduleGrain.JobId(name, DateTimeOffset.Parse("2026-10-01T03:00:00Z"));
        await ScheduleClusters.WaitForRun(schedule, first);
        var firstSummary = await cluster.Client.GetGrain<IJobGrain>(first).WaitForOutputs();
        Assert.Equal((0L, 3L), (firstSummary.Duplicates!.Groups, firstSummary.Curation!.Keep)); // no copies yet: all three kept

        // During the day: a worse (darker) copy of the kept chelsea and a better (brighter) copy of the kept coffee arrive.
        await Upload(new Dictionary<string, byte[]>
        {
            ["set/new/chelsea-dark.png"] = Variants.Brightness(chelsea, 0.9),
            ["set/new/coffee-bright.png"] = Variants.Brightness(coffee, 1.1),
        }, container);
        _clock.Set(DateTimeOffset.Parse("2026-10-02T03:00:10Z"));
        await schedule.Tick();
        var second = ScheduleGrain.JobId(name, DateTimeOffset.Parse("2026-10-02T03:00:00Z"));
        var run = await ScheduleClusters.WaitForRun(schedule, second);
        Assert.Equal((5L, 2L, 3L), (run.Images, run.Scored, run.Reused)); // the three old images' scores and hashes from the score cache
        var summary = await cluster.Client.GetGrain<IJobGrain>(second).WaitForOutputs();
        var runOutput = Locations.Join(Locations.Blob($"{container.Name}/runs"), second);
        foreach (var l in await DuplicateLines(runOutput)) output.WriteLine(string.Join(", ", l));

        var reasons = (await Text(JobLayout.RejectList(runOutput))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
        Assert.Equal(["a/coffee.png", "new/chelsea-dark.png"], reasons.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith("duplicate of a/chelsea.png", reasons["new/chelsea-dark.png"]); // the new worse copy: rejected tonight
        Assert.StartsWith("duplicate of new/coffee-bright.png", reasons["a/coffee.png"]); // last night's keeper, replaced
        Assert.Equal(["a/astronaut.png", "a/chelsea.png", "new/coffee-bright.png"],
            (await Text(JobLayout.KeepList(runOutput))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        var dup = summary.Duplicates!;
        Assert.Equal((2L, 4L, 2L, 1L), (dup.Groups, dup.ImagesInGroups, dup.Rejected, dup.Replaced));
        Assert.Equal([new ReplacedImage("a/coffee.png", "new/coffee-bright.png")], dup.ReplacedImages);
        await schedule.Delete();
    }
}
