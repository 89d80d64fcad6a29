using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Evaluation;
using DpIqa.Jobs;
using DpIqa.Models.Brisque;
using DpIqa.Results;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// Scores the 10 shipped photos (at their own size, up to 20 MP) and the 110 generated degradations of them
/// (tests/reference/brisque: PNG, JPEG and lossless WebP, 128-236 px) once with <c>dpiqa score --model brisque</c>
/// (the embedded silo, shards, result rows) for the tests below.
/// </summary>
public sealed class BrisqueScores : IAsyncLifetime
{
    private readonly TempFolder _dir = new();

    public JsonElement Golden { get; private set; }
    public Dictionary<string, ImageResult> Results { get; } = [];

    public async Task InitializeAsync()
    {
        Golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Reference, "brisque-golden.json"))).RootElement;
        foreach (var photo in TinyModels.Photos()) _dir.Copy(photo, Path.Combine("in", "photos", Path.GetFileName(photo)));
        foreach (var image in Directory.GetFiles(Path.Combine(RepoPaths.Reference, "brisque"))) _dir.Copy(image, Path.Combine("in", "brisque", Path.GetFileName(image)));
        var output = Path.Combine(_dir.Path, "out");
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([Path.Combine(_dir.Path, "in")], output, BrisqueModel.Name, ResultFormat.Jsonl, 16), [], true, false, CancellationToken.None));
        foreach (var row in await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Jsonl)), ResultFormat.Jsonl))
            Results[row.Path] = row;
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The built-in BRISQUE equals OpenCV's: tests/reference/brisque_golden.py scored the same files with OpenCV 4.6's
/// cv2.quality.QualityBRISQUE (Debian python3-opencv) and committed the scores in tests/reference/brisque-golden.json;
/// CI needs no OpenCV. Goal: max |difference| at most 0.5 BRISQUE points and Spearman at least 0.999. What remains is
/// float32 rounding where our loops and OpenCV's SIMD kernels order the sums differently (the Gaussian window and the
/// bicubic resize); the fits' double sums, the gamma grid and the SVR follow OpenCV's arithmetic.
/// </summary>
public sealed class BrisqueGoldenTests(BrisqueScores scores, ITestOutputHelper output) : IClassFixture<BrisqueScores>
{
    [Fact]
    public void Brisque_scores_equal_opencv_on_the_photos_and_their_degradations()
    {
        var golden = scores.Golden.GetProperty("scores").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        Assert.Equal(golden.Keys.Order(StringComparer.Ordinal), scores.Results.Keys.Order(StringComparer.Ordinal)); // new images need brisque_golden.py rerun
        var ours = new List<double>();
        var theirs = new List<double>();
        double worst = 0;
        string worstPath = "";
        foreach (var (path, expected) in golden)
        {
            var row = scores.Results[path];
            Assert.Equal(ImageResult.Ok, row.Status);
            Assert.Equal((expected.GetProperty("width").GetInt32(), expected.GetProperty("height").GetInt32()), (row.Width, row.Height));
            Assert.Equal(BrisqueModel.Name, row.Model);
            Assert.Equal(BrisqueModel.Shared.Sha256, row.ModelSha256);
            double want = expected.GetProperty("score").GetDouble(), got = row.Score!.Value;
            ours.Add(got);
            theirs.Add(want);
            if (Math.Abs(got - want) > worst) (worst, worstPath) = (Math.Abs(got - want), path);
        }
        double spearman = IqaMetrics.Spearman(ours, theirs);
        output.WriteLine($"{ours.Count} images: max |C# - OpenCV| {worst:F4} ({worstPath}), mean {ours.Zip(theirs).Average(p => Math.Abs(p.First - p.Second)):F4}, Spearman {spearman:F6}");
        Assert.True(worst <= 0.5, $"{worstPath}: C# {scores.Results[worstPath].Score} vs OpenCV {golden[worstPath].GetProperty("score").GetDouble()} (|diff| {worst:F4} > 0.5)");
        Assert.True(spearman >= 0.999, $"Spearman {spearman:F6} < 0.999");
    }

    [Fact]
    public void Every_degradation_step_scores_worse_except_where_opencv_does_not_either()
    {
        // Ladders per photo: base, then blur sigma 1/2/4, JPEG quality 75/40/20/10, noise sigma 5/10/20; BRISQUE is lower-is-better.
        var notWorse = new List<string>();
        int steps = 0;
        foreach (var ladder in scores.Golden.GetProperty("ladders").EnumerateObject())
        {
            var files = ladder.Value.EnumerateArray().Select(f => f.GetString()!).ToList();
            for (int i = 1; i < files.Count; i++, steps++)
                if (scores.Results[files[i]].Score <= scores.Results[files[i - 1]].Score) notWorse.Add($"{files[i - 1]} -> {files[i]}");
        }
        var opencv = scores.Golden.GetProperty("opencv_not_worse").EnumerateArray().Select(e => e.GetString()!).ToList();
        output.WriteLine($"{steps} steps; {notWorse.Count} not scored worse, as OpenCV: {string.Join("; ", notWorse)}");
        Assert.Equal(opencv, notWorse); // the exceptions are OpenCV's own, no more and no fewer
        Assert.InRange(notWorse.Count, 0, steps / 4); // most steps do score worse
    }

    [Theory]
    [InlineData(0)]
    [InlineData(128)]
    [InlineData(255)]
    public void A_flat_image_scores_100_as_opencv_scores_it_not_an_error(byte gray)
    {
        // OpenCV 4.6 (cv2.quality.QualityBRISQUE_compute on a 80x64 image of one gray level): features NaN but the
        // gammas, score 100.0 for 0, 128 and 255 alike.
        using var image = DpIqa.Imaging.DecodedImage.Rent(80, 64);
        var pixels = image.Writable;
        for (int i = 0; i < pixels.Length; i += 4) (pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]) = (gray, gray, gray, 255);
        Assert.Equal(100f, BrisqueModel.Shared.Score(image));
    }
}
