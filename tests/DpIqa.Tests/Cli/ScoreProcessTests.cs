using System.Runtime.InteropServices;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Tests.Cluster;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa score</c> and <c>dpiqa upload</c> as processes: Ctrl+C (SIGINT) mid-job exits 130 with one line,
/// <c>Imaging:MaxBytes</c> turns every larger file into a too-large error record while the others are scored, and
/// upload copies a folder's images into blob storage (Azurite).
/// </summary>
public sealed partial class ScoreProcessTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly TempFolder _dir = new();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [Fact]
    public async Task Sigint_mid_job_cancels_it_and_exits_130_with_one_line()
    {
        var output = Path.Combine(_dir.Path, "out");
        // No scoring workers in the embedded silo: the job is started and can never finish, so the signal lands mid-job.
        using var p = DpiqaProcess.Start(_dir.Path, ["score", RepoPaths.Photos, "--out", output], new Dictionary<string, string> { ["Scoring__Enabled"] = "false" },
            sigintAsInATerminal: true);
        var stderr = new List<string>();
        string? line;
        while ((line = await p.StandardError.ReadLineAsync()) is not null)
        {
            stderr.Add(line);
            if (line.StartsWith("scoring ", StringComparison.Ordinal)) break; // the job has started
        }
        Assert.True(line is not null, "dpiqa ended before the job started:\n" + string.Join('\n', stderr));
        Assert.Equal(0, Kill(p.Id, 2));
        var (code, _, rest) = await DpiqaProcess.Finish(p);
        Assert.Equal(ExitCodes.Cancelled, code);
        Assert.StartsWith("cancelled", rest[^1]);
        Assert.DoesNotContain(rest, l => l.StartsWith("error", StringComparison.Ordinal));
        Assert.False(File.Exists(JobLayout.MergedResults(output, ResultFormat.Csv)));
    }

    [Fact]
    public async Task Imaging_MaxBytes_makes_larger_files_too_large_errors_and_scores_the_rest()
    {
        var photos = Directory.GetFiles(RepoPaths.Photos).Where(f => DpIqa.Imaging.ImageFormats.Extensions.Contains(Path.GetExtension(f))).ToList();
        var sizes = photos.Select(f => new FileInfo(f).Length).Order().ToList();
        long limit = sizes[sizes.Count / 2]; // about half the photos are over it
        var output = Path.Combine(_dir.Path, "out");
        var (code, _, err) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", output, "--format", "jsonl", "--json"],
            new Dictionary<string, string> { ["Imaging__MaxBytes"] = $"{limit}" });
        Assert.True(code == ExitCodes.Ok, string.Join('\n', err));
        var results = await ResultFiles.Decode(await File.ReadAllBytesAsync(JobLayout.MergedResults(output, ResultFormat.Jsonl)), ResultFormat.Jsonl);
        Assert.Equal(photos.Count, results.Count);
        foreach (var r in results)
        {
            var bytes = new FileInfo(photos.Single(f => Path.GetFileName(f) == Path.GetFileName(r.Path))).Length;
            if (bytes > limit)
            {
                Assert.Equal("error", r.Status);
                Assert.Equal("too-large", r.ErrorKind);
                Assert.Contains("Imaging:MaxBytes", r.ErrorMessage);
            }
            else
            {
                Assert.Equal("ok", r.Status);
                Assert.NotNull(r.Score);
            }
        }
        Assert.Contains(results, r => r.Status == "ok");
        Assert.Contains(results, r => r.Status == "error");
    }

    [SkippableFact]
    public async Task Upload_copies_a_folders_images_into_blob_storage_keeping_their_relative_paths()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var folder = Path.Combine(_dir.Path, "set");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        var photos = Directory.GetFiles(RepoPaths.Photos, "*.png");
        File.Copy(photos[0], Path.Combine(folder, Path.GetFileName(photos[0])));
        File.Copy(photos[1], Path.Combine(folder, "sub", Path.GetFileName(photos[1])));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not an image");
        var container = "up-" + Guid.NewGuid().ToString("N")[..8];
        var (code, stdout, err) = await DpiqaProcess.Run(_dir.Path, ["upload", folder, "--to", $"{container}/in"],
            new Dictionary<string, string> { ["Storage__ConnectionString"] = azurite.ConnectionString });
        Assert.True(code == ExitCodes.Ok, string.Join('\n', err));
        Assert.Contains("uploaded 2 images", stdout);
        var blobs = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(container);
        var names = new List<string>();
        await foreach (var b in blobs.GetBlobsAsync()) names.Add(b.Name);
        Assert.Equal([$"in/{Path.GetFileName(photos[0])}", $"in/sub/{Path.GetFileName(photos[1])}"], names.Order().ToList());
        var copied = (await blobs.GetBlobClient($"in/sub/{Path.GetFileName(photos[1])}").DownloadContentAsync()).Value.Content.ToArray();
        Assert.Equal(await File.ReadAllBytesAsync(photos[1]), copied);
    }

    public void Dispose() => _dir.Dispose();
}
