using System.Globalization;
using System.Text;
using System.Text.Json;
using DpIqa.Client;
using DpIqa.Hosting;
using DpIqa.Results;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace DpIqa.Tests.Reports;

/// <summary>
/// The built <c>dpiqa</c> against a real cluster (an in-process silo, Azure Table membership and blobs on Azurite) with
/// two tiny models the test builds: <c>job submit --labels --cascade</c>, then <c>job report --compare</c> over the two
/// jobs, with thumbnails read from the blob container the job scored.
/// </summary>
public sealed class JobReportClusterTests(TinyModelsCluster fixture, ITestOutputHelper output) : IClassFixture<TinyModelsCluster>
{
    private readonly DpiqaCluster _cluster = fixture.Cluster;

    private Task<(int Code, string Out, string[] Err)> Dpiqa(params string[] args) => _cluster.Dpiqa(output, args);

    /// <summary>Made-up MOS for the shipped photos (none is published for them), SPAQ's column names, as a blob beside them.</summary>
    private async Task<string> Labels(string container)
    {
        var csv = new StringBuilder("Image name,MOS\n");
        var photos = TinyModels.Photos();
        for (int i = 0; i < photos.Length; i++) csv.Append(Path.GetFileName(photos[i])).Append(',').Append((20 + 13 * i % 70).ToString(CultureInfo.InvariantCulture)).Append('\n');
        var blob = new Azure.Storage.Blobs.BlobContainerClient(_cluster.Azurite.ConnectionString, container).GetBlobClient("labels/spaq.csv");
        await blob.UploadAsync(BinaryData.FromString(csv.ToString()));
        return $"{container}/labels/spaq.csv";
    }

    [SkippableFact]
    public async Task A_job_with_labels_and_a_cascade_gets_a_report_compared_with_another_job()
    {
        Skip.If(_cluster.Azurite.SkipReason is not null, _cluster.Azurite.SkipReason);
        var container = "report-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(ExitCodes.Ok, (await Dpiqa("upload", RepoPaths.Photos, "--to", $"{container}/photos")).Code);

        var cascaded = await Dpiqa("job", "submit", "--source", $"{container}/photos", "--out", $"{container}/cascaded", "--model", "student",
            "--format", "csv", "--shard-size", "3", "--reject-below", "0.4", "--cascade", "teacher", "--band", "0.15", "--labels", await Labels(container));
        Assert.Equal(ExitCodes.Ok, cascaded.Code);
        var teacherJob = await Dpiqa("job", "submit", "--source", $"{container}/photos", "--out", $"{container}/teacher", "--model", "teacher", "--format", "jsonl");
        Assert.Equal(ExitCodes.Ok, teacherJob.Code);
        var (a, b) = (cascaded.Out.Trim(), teacherJob.Out.Trim());
        Assert.Equal(ExitCodes.Ok, (await Dpiqa("job", "watch", a)).Code);
        Assert.Equal(ExitCodes.Ok, (await Dpiqa("job", "watch", b)).Code);

        // The summary holds the evaluation and the cascade's counts, consistent with the per-image results.
        var summary = await Dpiqa("job", "summary", a, "--json");
        using var json = JsonDocument.Parse(summary.Out);
        var resultsFile = Path.Combine(_cluster.WorkFolder, "a.csv");
        Assert.Equal(ExitCodes.Ok, (await Dpiqa("job", "results", a, "--out", resultsFile)).Code);
        var results = await ResultFiles.Decode(File.ReadAllBytes(resultsFile), ResultFormat.Csv);
        Assert.Equal(results.Count(r => r.Score is not null), json.RootElement.GetProperty("evaluation").GetProperty("images").GetInt64());
        Assert.Equal(results.Count(r => r.TeacherScore is not null), json.RootElement.GetProperty("cascade").GetProperty("rescored").GetInt64());
        Assert.All(results.Where(r => r.TeacherScore is not null), r => Assert.InRange(r.Score!.Value, 0.25f, 0.55f));

        var reportDir = Path.Combine(_cluster.WorkFolder, "report");
        var report = await Dpiqa("job", "report", a, "--out", reportDir, "--compare", b);
        Assert.Equal(ExitCodes.Ok, report.Code);
        var file = Path.Combine(reportDir, "report.html");
        Assert.Empty(ReportFiles.MissingResources(file));
        var images = ReportFiles.Images(file);
        foreach (var plot in new[] { "score histogram", "two score histograms overlaid", "box plots per folder", "scatter of score against MOS" })
            Assert.Contains(images, i => i.Alt == plot);
        // Thumbnails from the blobs: each scored image twice (worst and best: there are fewer than 12).
        Assert.Equal(2 * results.Count(r => r.Score is not null), images.Count(i => i.Format == "jpeg"));
        Assert.DoesNotContain("no thumbnail", File.ReadAllText(file));

        var unknown = await Dpiqa("job", "report", "no-such-job", "--out", reportDir);
        Assert.Equal(ExitCodes.InvalidRequest, unknown.Code);
        Assert.Equal(["error: there is no job 'no-such-job' in this cluster: check the id with 'dpiqa job list'"], unknown.Err);
    }
}

/// <summary>
/// <see cref="DpiqaCluster"/> whose silo serves two tiny models the test builds: <c>student</c> and <c>teacher</c>
/// (the teacher scores the other way round, so a cascade changes scores).
/// </summary>
public sealed class TinyModelsCluster : IAsyncLifetime
{
    private readonly TempFolder _models = new();

    public DpiqaCluster Cluster { get; }

    public TinyModelsCluster()
    {
        TinyModels.Add(_models.Path, "student", 0f, 1f, [0, 1]);
        TinyModels.Add(_models.Path, "teacher", 1f, -1f, [0, 1]);
        Cluster = new DpiqaCluster(new Dictionary<string, string> { ["Models:Path"] = _models.Path });
    }

    public Task InitializeAsync() => Cluster.InitializeAsync();

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        _models.Dispose();
    }
}
