using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Schedules;

/// <summary>
/// <c>dpiqa score --incremental</c> in process: the score cache is a file beside the results; unchanged images (same
/// size and modification time) reuse their scores without being read, changed and new ones are scored.
/// </summary>
public sealed class IncrementalScoreTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(JsonElement Summary, List<ImageResult> Rows)> Score(string source, string output)
    {
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob([source], output, null, ResultFormat.Csv, 2) with { Incremental = true }, [], true, false, CancellationToken.None));
        var summary = JsonDocument.Parse(await File.ReadAllBytesAsync(JobLayout.SummaryFile(output))).RootElement.Clone();
        var rows = (await ResultFiles.Decode(await File.ReadAllBytesAsync(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv)).ToList();
        return (summary, rows);
    }

    [Fact]
    public async Task Unchanged_images_reuse_their_scores_without_being_read_and_changed_ones_are_scored_again()
    {
        var source = Path.Combine(_dir.Path, "in");
        foreach (var name in new[] { "skimage-chelsea.png", "mate-ladybird.jpg", "lomiri-free.jpg" })
            _dir.Copy(Path.Combine(RepoPaths.Photos, name), Path.Combine("in", name));
        var output = Path.Combine(_dir.Path, "out");

        var (first, firstRows) = await Score(source, output);
        Assert.Equal((3, 0), (first.GetProperty("all").GetProperty("scored").GetInt32(), first.GetProperty("reused").GetInt32()));
        Assert.True(File.Exists(JobLayout.ScoreCacheFile(output)));
        Assert.All(firstRows, r => Assert.False(r.Reused));

        // Unchanged: same size and mtime. One file's bytes are replaced by garbage of the same size with its mtime put
        // back: were it read, it would be a decode error; it is reused, so it was not read.
        var ladybird = Path.Combine(source, "mate-ladybird.jpg");
        var mtime = File.GetLastWriteTimeUtc(ladybird);
        await File.WriteAllBytesAsync(ladybird, new byte[new FileInfo(ladybird).Length]);
        File.SetLastWriteTimeUtc(ladybird, mtime);
        var (second, secondRows) = await Score(source, output);
        Assert.Equal((3, 3, 0), (second.GetProperty("all").GetProperty("scored").GetInt32(), second.GetProperty("reused").GetInt32(), second.GetProperty("all").GetProperty("failed").GetInt32()));
        Assert.All(secondRows, r => Assert.True(r.Reused));
        Assert.Equal(firstRows.ToDictionary(r => r.Path, r => r.Score), secondRows.ToDictionary(r => r.Path, r => r.Score));
        Assert.Equal(first.GetProperty("all").GetProperty("mean").GetDouble(), second.GetProperty("all").GetProperty("mean").GetDouble(), 6);

        // Changed (another photo under an old name) and new: scored; the untouched one reused.
        File.Copy(Path.Combine(RepoPaths.Photos, "skimage-coffee.png"), Path.Combine(source, "skimage-chelsea.png"), overwrite: true);
        _dir.Copy(Path.Combine(RepoPaths.Photos, "mate-freshflower.jpg"), Path.Combine("in", "new", "mate-freshflower.jpg"));
        File.SetLastWriteTimeUtc(ladybird, mtime.AddSeconds(5)); // touched: read again, and now it is garbage
        var (_, thirdRows) = await Score(source, output);
        var byPath = thirdRows.ToDictionary(r => r.Path);
        Assert.True(byPath["lomiri-free.jpg"].Reused);
        Assert.False(byPath["skimage-chelsea.png"].Reused);
        Assert.NotEqual(firstRows.Single(r => r.Path == "skimage-chelsea.png").Score, byPath["skimage-chelsea.png"].Score);
        Assert.False(byPath["new/mate-freshflower.jpg"].Reused);
        Assert.Equal(ImageResult.Error, byPath["mate-ladybird.jpg"].Status);
    }
}
