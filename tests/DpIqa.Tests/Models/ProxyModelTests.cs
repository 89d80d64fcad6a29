using DpIqa.Inference;
using DpIqa.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>The built-in proxy model, run by ONNX Runtime on real photos, behaves like a quality score.</summary>
public sealed class ProxyModelTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly InferenceService _inference = new(
        new ModelCatalog(Options.Create(new ModelOptions { Path = Path.Combine(Path.GetTempPath(), "dpiqa-no-models") })),
        Options.Create(new InferenceOptions { MaxBatch = 4 }), NullLogger<InferenceService>.Instance);

    public static TheoryData<string> Photos() => new(TestImages.Photos().Select(Path.GetFileName)!);

    private async Task<float> Score(byte[] rgb)
    {
        using var image = TestImages.Wrap(rgb);
        return await _inference.Score(ProxyModel.Name, image, CancellationToken.None);
    }

    [Theory]
    [MemberData(nameof(Photos))]
    public async Task Blur_ladder_lowers_the_score_step_by_step(string photo)
    {
        var rgb = TestImages.Preprocess(Path.Combine(RepoPaths.Photos, photo));
        var scores = new List<float> { await Score(rgb) };
        foreach (var sigma in new[] { 0.75, 1.5, 3.0, 6.0 }) scores.Add(await Score(TestImages.Blur(rgb, 512, sigma)));
        output.WriteLine($"{photo}: {string.Join(" > ", scores.Select(s => s.ToString("F4")))}");
        for (int i = 1; i < scores.Count; i++)
            Assert.True(scores[i] < scores[i - 1], $"blur step {i} did not lower the score: {string.Join(", ", scores)}");
    }

    [Theory]
    [MemberData(nameof(Photos))]
    public async Task Strong_under_and_over_exposure_lower_the_score(string photo)
    {
        var rgb = TestImages.Preprocess(Path.Combine(RepoPaths.Photos, photo));
        var normal = await Score(rgb);
        var under = await Score(TestImages.Expose(rgb, 0.15));
        var over = await Score(TestImages.Expose(rgb, 4.0));
        output.WriteLine($"{photo}: normal {normal:F4}, under {under:F4}, over {over:F4}");
        Assert.True(under < normal, $"under-exposure {under} is not below {normal}");
        Assert.True(over < normal, $"over-exposure {over} is not below {normal}");
    }

    [Fact]
    public async Task Scores_are_in_range_deterministic_and_batch_independent()
    {
        var images = TestImages.Photos().Take(4).Select(TestImages.Preprocess).ToArray();
        var alone = new List<float>();
        foreach (var rgb in images) alone.Add(await Score(rgb));
        var together = await Task.WhenAll(images.Select(Score));
        for (int i = 0; i < images.Length; i++)
        {
            Assert.InRange(alone[i], 0f, 1f);
            Assert.Equal(alone[i], together[i], 5);
        }
        Assert.True(alone.Distinct().Count() > 1, "different photos should get different scores");
    }

    [Fact]
    public void The_built_in_model_is_the_same_bytes_every_time()
    {
        Assert.Equal(Hashes.Sha256(ProxyModel.Build()), Hashes.Sha256(ProxyModel.Build()));
        Assert.DoesNotContain("dp-iqa", ProxyModel.Name, StringComparison.OrdinalIgnoreCase);
    }

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _inference.DisposeAsync();
}
