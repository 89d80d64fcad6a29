using System.Diagnostics;
using System.Text.Json;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Results;
using DpIqa.Tests.Cluster;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa job</c> end to end, as processes against a real cluster on Azurite (<see cref="DpiqaCluster"/>):
/// submit, list, watch, status, summary, results and cancel in text and <c>--json</c>, with a refused request each
/// (exit 2, one line); a job over a <c>listing:</c> and a <c>file:</c> source that counts every image once, where a
/// listed blob that is missing and a listing line that names no valid blob end as <c>fetch</c> error records with a
/// message, in the results and the summary, and the job completes.
/// </summary>
public sealed class JobCommandsEndToEndTests(DpiqaCluster cluster, ITestOutputHelper output) : IClassFixture<DpiqaCluster>
{
    private static readonly string[] Photos = TestImages.Photos().Select(p => Path.GetFileName(p)).ToArray();

    private Task<(int Code, string Out, string[] Err)> Dpiqa(params string[] args) => cluster.Dpiqa(output, args);

    private async Task<BlobContainerClient> ContainerWithPhotos(string prefix)
    {
        var container = new BlobServiceClient(cluster.Azurite.ConnectionString).GetBlobContainerClient(prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        foreach (var photo in Photos)
            await container.UploadBlobAsync($"photos/{photo}", BinaryData.FromBytes(await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Photos, photo))));
        return container;
    }

    private static async Task<IReadOnlyList<ImageResult>> ReadJsonl(string file) =>
        await ResultFiles.Decode(await File.ReadAllBytesAsync(file), ResultFormat.Jsonl);

    [SkippableFact]
    public async Task Submit_list_watch_status_summary_and_results_follow_a_job_in_text_and_json()
    {
        Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);
        var container = await ContainerWithPhotos("e2e-job");
        var jobId = "e2e-job-" + Guid.NewGuid().ToString("N")[..6];

        // Commands that do not depend on each other run at once: each process start costs seconds on a loaded machine.
        var (refused, submit) = await DpiqaProcess.Together(
            Dpiqa("job", "submit", "--source", $"{container.Name}/photos", "--out", $"{container.Name}/out", "--model", "no-such-model"),
            Dpiqa("job", "submit", "--source", $"{container.Name}/photos", "--out", $"{container.Name}/out", "--shard-size", "4", "--format", "jsonl", "--job-id", jobId));
        Assert.Equal(ExitCodes.InvalidRequest, refused.Code);
        DpiqaProcess.AssertOneErrorLine(refused.Err, "unknown model 'no-such-model'");
        Assert.Equal((ExitCodes.Ok, jobId), (submit.Code, submit.Out.Trim())); // the id at once, nothing else
        Assert.Empty(submit.Err);

        var file = Path.Combine(cluster.WorkFolder, $"{jobId}.jsonl");
        var (list, listJson, watch) = await DpiqaProcess.Together(Dpiqa("job", "list"), Dpiqa("job", "list", "--json"), Dpiqa("job", "watch", jobId, "--json"));
        Assert.Equal(ExitCodes.Ok, list.Code);
        Assert.Contains(list.Out.Split('\n'), l => l.StartsWith(jobId + " ", StringComparison.Ordinal));
        Assert.Equal(ExitCodes.Ok, listJson.Code);
        using (var jobs = JsonDocument.Parse(listJson.Out))
            Assert.Contains(jobs.RootElement.EnumerateArray(), j => j.GetProperty("job_id").GetString() == jobId);

        Assert.Equal(ExitCodes.Ok, watch.Code);
        using (var watched = JsonDocument.Parse(watch.Out))
        {
            Assert.Equal("completed", watched.RootElement.GetProperty("status").GetProperty("state").GetString());
            Assert.Equal(Photos.Length, watched.RootElement.GetProperty("summary").GetProperty("all").GetProperty("count").GetInt32());
        }

        var (status, statusJson, summary) = await DpiqaProcess.Together(Dpiqa("job", "status", jobId), Dpiqa("job", "status", jobId, "--json"), Dpiqa("job", "summary", jobId, "--json"));
        var (results, resultsJson) = await DpiqaProcess.Together(
            Dpiqa("job", "results", jobId, "--out", file), Dpiqa("job", "results", jobId, "--out", Path.Combine(cluster.WorkFolder, $"{jobId}.csv"), "--json"));
        Assert.Equal(ExitCodes.Ok, status.Code);
        Assert.StartsWith($"job {jobId}: completed", status.Out);
        Assert.Contains($"images {Photos.Length}/{Photos.Length}: {Photos.Length} scored, 0 reused, 0 failed", status.Out);
        using (var s = JsonDocument.Parse(statusJson.Out))
        {
            Assert.Equal("completed", s.RootElement.GetProperty("state").GetString());
            Assert.Equal((Photos.Length, Photos.Length), (s.RootElement.GetProperty("total").GetInt32(), s.RootElement.GetProperty("scored").GetInt32()));
        }

        Assert.Equal(ExitCodes.Ok, summary.Code);
        using (var sum = JsonDocument.Parse(summary.Out))
        {
            var all = sum.RootElement.GetProperty("all");
            Assert.Equal((Photos.Length, 0), (all.GetProperty("scored").GetInt32(), all.GetProperty("failed").GetInt32()));
        }

        Assert.Equal(ExitCodes.Ok, results.Code);
        Assert.Equal($"{Photos.Length} results -> {file}", results.Out.Trim());
        var rows = await ReadJsonl(file);
        Assert.Equal(Photos.Order(StringComparer.Ordinal), rows.Select(r => r.Path).Order(StringComparer.Ordinal)); // each photo once
        Assert.All(rows, r => Assert.Equal(ImageResult.Ok, r.Status));
        using (var r = JsonDocument.Parse(resultsJson.Out))
            Assert.Equal(Photos.Length, r.RootElement.GetProperty("rows").GetInt32());
    }

    [SkippableFact]
    public async Task Cancel_stops_a_running_job_and_its_results_are_refused_in_one_line()
    {
        Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);
        // A listing file that is a named pipe held open by the test and never written: the job's listing cannot end,
        // so the job is surely running when it is cancelled, however slow the machine.
        var pipe = Path.Combine(cluster.LocalRoot, $"endless-{Guid.NewGuid():N}.txt");
        using (var mkfifo = Process.Start("mkfifo", pipe)) await mkfifo.WaitForExitAsync();
        await using var writer = new FileStream(pipe, FileMode.Open, FileAccess.ReadWrite); // O_RDWR: opening does not wait for a reader
        var container = new BlobServiceClient(cluster.Azurite.ConnectionString).GetBlobContainerClient("e2e-cancel-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        var jobId = "e2e-cancel-" + Guid.NewGuid().ToString("N")[..6];

        var submit = await Dpiqa("job", "submit", "--source", $"listing:file:{pipe}", "--out", $"{container.Name}/out", "--job-id", jobId, "--json");
        Assert.Equal(ExitCodes.Ok, submit.Code);
        using (var started = JsonDocument.Parse(submit.Out))
            Assert.Equal("running", started.RootElement.GetProperty("state").GetString());

        var cancel = await Dpiqa("job", "cancel", jobId);
        Assert.Equal((ExitCodes.Ok, $"job {jobId}: cancelled"), (cancel.Code, cancel.Out.Trim()));
        var (again, status, results) = await DpiqaProcess.Together(
            Dpiqa("job", "cancel", jobId, "--json"), // cancelling twice changes nothing
            Dpiqa("job", "status", jobId),
            Dpiqa("job", "results", jobId, "--out", Path.Combine(cluster.WorkFolder, "cancelled.csv")));
        using (var s = JsonDocument.Parse(again.Out))
            Assert.Equal("cancelled", s.RootElement.GetProperty("state").GetString());
        Assert.Contains("note: cancelled by a user", status.Out);
        Assert.Equal(ExitCodes.InvalidRequest, results.Code);
        DpiqaProcess.AssertOneErrorLine(results.Err, $"job {jobId} is cancelled; results are merged once it completed");
        Assert.False(File.Exists(Path.Combine(cluster.WorkFolder, "cancelled.csv")));
        // Closing the pipe lets the cancelled listing end.
    }

    [SkippableFact]
    public async Task A_job_over_a_listing_and_a_folder_counts_each_image_once_and_bad_lines_become_fetch_errors()
    {
        Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);
        var container = await ContainerWithPhotos("e2e-src");
        var missing = $"{container.Name}/photos/missing.jpg";
        var invalid = "Not_A_Container/photo.jpg";
        string[] listed = [$"{container.Name}/photos/{Photos[0]}", $"{container.Name}/photos/{Photos[1]}", missing, invalid];
        await container.UploadBlobAsync("lists/photos.txt", BinaryData.FromString(
            $"# comments and blank lines are not images\n{listed[0]}\n\n{listed[1]}\n{listed[2]}\n  {listed[3]}  \n"));
        var folder = Directory.CreateDirectory(Path.Combine(cluster.LocalRoot, "set-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        string[] local = [Photos[2], Photos[3], Photos[4]];
        foreach (var photo in local) File.Copy(Path.Combine(RepoPaths.Photos, photo), Path.Combine(folder, photo));
        var jobId = "e2e-src-" + Guid.NewGuid().ToString("N")[..6];

        var submit = await Dpiqa("job", "submit", "--source", $"listing:{container.Name}/lists/photos.txt", "--source", $"file:{folder}",
            "--out", $"{container.Name}/out", "--shard-size", "2", "--format", "jsonl", "--job-id", jobId);
        Assert.Equal(ExitCodes.Ok, submit.Code);
        var watch = await Dpiqa("job", "watch", jobId, "--json");
        Assert.Equal(ExitCodes.Ok, watch.Code); // the job completes: a bad file is a record, not a dead job

        var file = Path.Combine(cluster.WorkFolder, $"{jobId}.jsonl");
        var (results, summary, text) = await DpiqaProcess.Together(Dpiqa("job", "results", jobId, "--out", file), Dpiqa("job", "summary", jobId, "--json"), Dpiqa("job", "summary", jobId));
        Assert.Equal(ExitCodes.Ok, results.Code);
        var rows = await ReadJsonl(file);
        // A listing's line is its result path; a folder's files are under the folder's name when a job has several sources.
        var name = Path.GetFileName(folder);
        Assert.Equal(listed.Concat(local.Select(p => $"{name}/{p}")).Order(StringComparer.Ordinal), rows.Select(r => r.Path).Order(StringComparer.Ordinal));
        foreach (var r in rows)
        {
            if (r.Path == missing || r.Path == invalid)
            {
                Assert.Equal((ImageResult.Error, "fetch"), (r.Status, r.ErrorKind));
                Assert.StartsWith("cannot read ", r.ErrorMessage);
                Assert.Null(r.Score);
            }
            else
            {
                Assert.Equal(ImageResult.Ok, r.Status);
                Assert.NotNull(r.Score);
            }
        }

        using var sum = JsonDocument.Parse(summary.Out);
        var all = sum.RootElement.GetProperty("all");
        Assert.Equal((rows.Count, rows.Count - 2, 2), (all.GetProperty("count").GetInt32(), all.GetProperty("scored").GetInt32(), all.GetProperty("failed").GetInt32()));
        Assert.Equal(2, all.GetProperty("failed_by_kind").GetProperty("fetch").GetInt32());
        Assert.Contains("fetch 2", text.Out);
    }
}
