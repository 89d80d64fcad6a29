using DpIqa.Client;
using DpIqa.Results;
using DpIqa.Tests.Cli;

namespace DpIqa.Tests.Inference;

/// <summary>
/// The dynamic batcher's one-by-one retry, end to end through <c>dpiqa score</c>: a real ONNX graph that fails at run
/// time for one photo (a Gather index out of bounds for the brightest one), every photo in ONE batch. The batch
/// fails, each image is retried alone, the good photos get their scores and only the bad one an <c>inference</c>
/// error record, counted in the summary; the job completes.
/// </summary>
public sealed class BatchRetryTests : IDisposable
{
    private readonly TempFolder _dir = new();

    [Fact]
    public async Task A_batch_that_one_image_breaks_is_retried_image_by_image_and_only_that_image_fails()
    {
        var photos = TestImages.Photos().ToList();
        // Mean pixel of each photo as the model sees it (exact preprocessing, values on [0, 1]).
        var means = photos.ToDictionary(p => Path.GetFileName(p), p => TestImages.Preprocess(p).Average(v => v / 255.0));
        var byMean = means.OrderByDescending(m => m.Value).ToList();
        var bad = byMean[0].Key;
        Assert.True(byMean[0].Value - byMean[1].Value > 1e-3, "the two brightest photos are too close to set a limit between them");
        var models = Path.Combine(_dir.Path, "models");
        TinyModels.AddFailingAbove(models, "breaks-on-bright", (float)((byMean[0].Value + byMean[1].Value) / 2));

        // One run loop that waits for every photo: the first batch holds them all, the bad one included. The long wait
        // only bounds a batch that never fills; it is not what the test measures.
        var output = Path.Combine(_dir.Path, "out");
        var (code, stdout, err) = await DpiqaProcess.Run(_dir.Path,
            ["score", RepoPaths.Photos, "--models-dir", models, "--model", "breaks-on-bright", "--out", output, "--format", "jsonl", "--json"],
            new Dictionary<string, string>
            {
                ["Inference__MaxBatch"] = $"{photos.Count}", ["Inference__MaxWaitMs"] = "60000", ["Inference__ConcurrentRuns"] = "1",
            });
        Assert.True(code == ExitCodes.Ok, string.Join('\n', err));
        Assert.Contains(err, l => l.Contains($"A batch of {photos.Count} failed on model breaks-on-bright", StringComparison.Ordinal));

        var results = await ResultFiles.Decode(await File.ReadAllBytesAsync(Path.Combine(output, "results.jsonl")), ResultFormat.Jsonl);
        Assert.Equal(photos.Select(p => Path.GetFileName(p)).Order(), results.Select(r => r.Path).Order());
        foreach (var r in results.Where(r => r.Path != bad))
        {
            Assert.Equal(ImageResult.Ok, r.Status);
            Assert.Equal(means[r.Path], r.Score!.Value, 1e-3); // the model's own score (float32 mean of 786,432 values), not a stand-in
        }
        var failed = Assert.Single(results, r => r.Path == bad);
        Assert.Equal((ImageResult.Error, "inference"), (failed.Status, failed.ErrorKind));
        Assert.Null(failed.Score);
        Assert.StartsWith("model breaks-on-bright failed: ", failed.ErrorMessage);

        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var all = json.RootElement.GetProperty("summary").GetProperty("all");
        Assert.Equal((photos.Count - 1, 1), (all.GetProperty("scored").GetInt32(), all.GetProperty("failed").GetInt32()));
        Assert.Equal(1, all.GetProperty("failed_by_kind").GetProperty("inference").GetInt32());
    }

    public void Dispose() => _dir.Dispose();
}
