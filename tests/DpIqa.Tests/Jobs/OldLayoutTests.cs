using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Client.Reports;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Jobs;

/// <summary>
/// Jobs written before the shard folders were renamed (<c>manifests/</c> for the item lists, <c>shards/</c> for the
/// results): their results and item lists are still read by today's paths, and a new run into their folder removes the
/// old-named folders so two runs never mix.
/// </summary>
public sealed class OldLayoutTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly ObjectStore _store = new(Options.Create(new StorageOptions()));

    private string Source()
    {
        foreach (var p in TinyModels.Photos().Take(5)) _dir.Copy(p, Path.Combine("in", Path.GetFileName(p)));
        return Path.Combine(_dir.Path, "in");
    }

    /// <summary>Scores the photos into a folder, then moves its shard folders to their old names, as an older version wrote them.</summary>
    private async Task<string> OldLayoutRun(string source)
    {
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], output, null, ResultFormat.Csv, 2), [], true, false, CancellationToken.None));
        Directory.Move(Path.Combine(output, JobLayout.ResultsFolder), Path.Combine(output, JobLayout.OldResultsFolder));
        Directory.Move(Path.Combine(output, JobLayout.ItemListsFolder), Path.Combine(output, JobLayout.OldItemListsFolder));
        // The old layout's item lists were plain JSON lines named .jsonl.
        foreach (var gz in Directory.GetFiles(Path.Combine(output, JobLayout.OldItemListsFolder), "*.jsonl.gz"))
        {
            using (var text = File.Create(gz[..^".gz".Length]))
            using (var gzip = new System.IO.Compression.GZipStream(File.OpenRead(gz), System.IO.Compression.CompressionMode.Decompress))
                gzip.CopyTo(text);
            File.Delete(gz);
        }
        return output;
    }

    /// <summary>The result files the job grain names for the job (its state holds shard numbers and tags: the paths are today's).</summary>
    private static List<string> CountedResultFiles(string output) =>
        Directory.GetFiles(Path.Combine(output, JobLayout.OldResultsFolder)).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Select(name =>
            {
                Assert.True(JobLayout.TryParseResultName(name!, out int shard, out uint tag), name);
                return JobLayout.ResultPath(output, shard, tag, ResultFormat.Csv);
            }).ToList();

    [Fact]
    public async Task A_job_folder_in_the_old_layout_is_still_read_by_job_results_and_the_report()
    {
        var output = await OldLayoutRun(Source());
        var files = CountedResultFiles(output);
        Assert.Equal(3, files.Count); // 5 images in shards of 2
        Assert.All(files, f => Assert.False(File.Exists(f), $"{f} should exist only under its old folder name"));

        // What 'dpiqa job results' reads: the same rows as the run's merged results.csv, in the same order.
        var rows = await JobLayout.ReadResults(_store, files, ResultFormat.Csv);
        var merged = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        Assert.Equal(merged.Select(r => (r.Path, r.Score, r.Status)), rows.Select(r => (r.Path, r.Score, r.Status)));

        // The report reads the result files and, for its thumbnails, the item lists (their sources' locations).
        var summary = JsonSerializer.Deserialize<JobSummary>(File.ReadAllText(JobLayout.SummaryFile(output)), JobSummaryFile.Json)!;
        var spec = new JobSpec { Sources = [], Model = summary.Model, Output = output, Format = ResultFormat.Csv };
        var job = new ReportJob(summary.JobId, spec, new JobStatus { JobId = summary.JobId, State = summary.State }, summary, files);
        var report = await JobReport.Write(_store, job, Path.Combine(_dir.Path, "report"), compare: null, CancellationToken.None);
        var thumbnails = Reports.ReportFiles.Images(report).Where(i => i.Format == "jpeg").ToList();
        Assert.Equal(2 * merged.Count(r => r.Score is not null), thumbnails.Count); // each scored image among the worst and the best
    }

    [Fact]
    public async Task A_missing_shard_file_is_reported_under_its_current_name()
    {
        var missing = JobLayout.ResultPath(Path.Combine(_dir.Path, "nowhere"), 0, 1, ResultFormat.Csv);
        var e = await Assert.ThrowsAnyAsync<IOException>(() => JobLayout.ReadShardFile(_store, missing));
        Assert.Contains(Path.Combine(JobLayout.ResultsFolder, "shard-000000."), e.Message);
    }

    [Fact]
    public async Task A_new_run_into_a_folder_of_the_old_layout_removes_the_old_named_folders()
    {
        var source = Source();
        var output = await OldLayoutRun(source);
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], output, null, ResultFormat.Csv, 5), [], true, false, CancellationToken.None));

        Assert.False(Directory.Exists(Path.Combine(output, JobLayout.OldResultsFolder)));
        Assert.False(Directory.Exists(Path.Combine(output, JobLayout.OldItemListsFolder)));
        Assert.Single(Directory.GetFiles(Path.Combine(output, JobLayout.ResultsFolder))); // this run's one shard only
        Assert.Single(Directory.GetFiles(Path.Combine(output, JobLayout.ItemListsFolder)));
    }

    [Theory]
    [InlineData("blob:out/run1/items/shard-000003.jsonl.gz", "blob:out/run1/manifests/shard-000003.jsonl")]
    [InlineData("blob:out/run1/results/shard-000003.0000abcd.csv", "blob:out/run1/shards/shard-000003.0000abcd.csv")]
    [InlineData("blob:out/run1/summary.json", null)]
    [InlineData("blob:out/items", null)]
    public void Old_layout_paths_replace_only_the_shard_folder(string path, string? old) =>
        Assert.Equal(old, JobLayout.OldLayoutPath(path));

    public void Dispose() => _dir.Dispose();
}
