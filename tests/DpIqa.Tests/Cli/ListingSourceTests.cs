using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Results;

namespace DpIqa.Tests.Cli;

/// <summary>
/// A listing file (one image per line) is a source written <c>listing:...</c>. After <c>listing:</c>, a path that is
/// absolute or starts with <c>./</c> or <c>../</c> (or <c>file:PATH</c>) is a local listing file; anything else is
/// <c>container/file</c> in blob storage, whose container name never starts with '/' or '.'.
/// </summary>
public sealed class ListingSourceTests : IDisposable
{
    private readonly TempFolder _dir = new();

    [Theory]
    [InlineData("listing:/data/lists/photos.txt", "/data/lists/photos.txt")]
    [InlineData("listing:file:/data/lists/photos.txt", "/data/lists/photos.txt")]
    [InlineData("listing:./photos.txt", "photos.txt")]
    [InlineData("listing:../lists/photos.txt", "../lists/photos.txt")]
    [InlineData("listing:file:photos.txt", "photos.txt")]
    public void A_path_after_listing_is_a_local_listing_file(string written, string path) =>
        Assert.Equal("listing:" + Path.GetFullPath(path), JobCommand.Location("--source", written));

    [Theory]
    [InlineData("listing:photos/lists/all.txt", "listing:blob:photos/lists/all.txt")]
    [InlineData("listing:photos/all.txt", "listing:blob:photos/all.txt")]
    [InlineData("listing:blob:photos/all.txt", "listing:blob:photos/all.txt")]
    public void Container_and_file_after_listing_is_a_blob_listing_file(string written, string location) =>
        Assert.Equal(location, JobCommand.Location("--source", written));

    [Fact]
    public void A_blob_listing_with_a_bad_container_name_is_still_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => JobCommand.Location("--source", "listing:Photos/all.txt"));
        Assert.Contains("'Photos' is not a valid blob container name", e.Message);
    }

    [Fact]
    public async Task Score_reads_the_images_an_absolute_listing_names()
    {
        var listed = Listed();
        var listing = Path.Combine(_dir.Path, "list.txt");
        File.WriteAllLines(listing, ["# two of the shipped photos", .. listed]);
        var output = Path.Combine(_dir.Path, "out");

        var code = await ScoreCommand.Run(ScoreCommand.LocalJob([$"listing:{listing}"], output, null, ResultFormat.Csv, 1), [], true, false, CancellationToken.None);

        Assert.Equal(0, code);
        await AssertScoredExactly(listed, output);
    }

    [Fact]
    public async Task Score_reads_a_listing_relative_to_the_working_directory()
    {
        var listed = Listed();
        File.WriteAllLines(Path.Combine(_dir.Path, "list.txt"), listed);

        var (code, _, err) = await DpiqaProcess.Run(_dir.Path, ["score", "listing:./list.txt", "--out", "out", "--format", "csv"]);

        Assert.True(code == 0, "dpiqa score failed:\n" + string.Join('\n', err));
        await AssertScoredExactly(listed, Path.Combine(_dir.Path, "out"));
    }

    /// <summary>Two shipped photos by absolute path, not the whole folder: the results show the listing was read.</summary>
    private static string[] Listed() =>
        Directory.GetFiles(RepoPaths.Photos, "*.jpg").Order(StringComparer.Ordinal).Take(2).ToArray();

    private static async Task AssertScoredExactly(string[] listed, string output)
    {
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(output, ResultFormat.Csv)), ResultFormat.Csv);
        // A listed line is its own result path, without the leading '/'.
        Assert.Equal(listed.Select(p => p.TrimStart('/')).Order(StringComparer.Ordinal), results.Select(r => r.Path).Order(StringComparer.Ordinal));
        Assert.All(results, r => Assert.Equal(ImageResult.Ok, r.Status));
    }

    public void Dispose() => _dir.Dispose();
}
