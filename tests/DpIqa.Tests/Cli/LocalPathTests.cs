using DpIqa.Client;
using DpIqa.Client.Commands;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>job submit</c> and <c>schedule create</c>: a <c>--source</c> or <c>--out</c> written as a path (<c>/PATH</c>,
/// <c>./PATH</c>, <c>../PATH</c>, <c>file:PATH</c>) is a local path on the silos, made absolute where dpiqa runs, by
/// the rule <c>listing:</c> follows; it used to be read as a blob container named after its first segment.
/// </summary>
public sealed class LocalPathTests
{
    [Theory]
    [InlineData("/data/photos", "/data/photos")]
    [InlineData("/data/photos/", "/data/photos/")]
    [InlineData("./photos", "photos")]
    [InlineData("../photos", "../photos")]
    [InlineData("file:/data/photos", "/data/photos")]
    public void A_path_is_a_local_path_not_a_container(string written, string path)
    {
        Assert.Equal(Path.GetFullPath(path), JobCommand.Location("--source", written));
        Assert.Equal(Path.GetFullPath(path), JobCommand.Location("--out", written));
    }

    [Theory]
    [InlineData("photos", "blob:photos")]
    [InlineData("photos/2026/", "blob:photos/2026")]
    public void A_container_and_prefix_is_still_blob_storage(string written, string location) =>
        Assert.Equal(location, JobCommand.Location("--source", written));

    [Theory]
    [InlineData("/tmp/photos")]
    [InlineData("./photos")]
    public async Task Upload_to_a_path_is_refused_in_one_line_rather_than_read_as_a_container(string to)
    {
        var (code, lines) = await CliInProcess.Run(["upload", RepoPaths.Photos, "--to", to]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        DpiqaProcess.AssertOneErrorLine(lines, $"--to {to}: upload copies into blob storage; name a container[/prefix]");
    }
}
