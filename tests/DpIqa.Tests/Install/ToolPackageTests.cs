using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace DpIqa.Tests.Install;

/// <summary>
/// `dotnet pack` makes the CLI a .NET tool that installs with `dotnet tool install` (here into a temporary tool path)
/// and runs: `dpiqa --version` and `dpiqa score samples/photos`. Packs the already built CLI (--no-build).
/// </summary>
public sealed class ToolPackageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_packed_tool_installs_and_scores_the_sample_photos()
    {
        using var temp = new TempFolder();
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        var packages = temp.Sub("nupkg");
        await Run("dotnet", ["pack", RepoPaths.Of("Client/Client.csproj"), "--no-build", "-c", config, "-o", packages, "-nologo"], RepoPaths.Root);
        var package = Path.GetFileName(Assert.Single(Directory.GetFiles(packages, "dpiqa.*.nupkg")));
        var version = package["dpiqa.".Length..^".nupkg".Length];

        var tools = temp.Sub("tools");
        // --ignore-failed-sources: an unreachable nuget.org (offline CI) must not fail an install from the local folder.
        await Run("dotnet", ["tool", "install", "dpiqa", "--tool-path", tools, "--add-source", packages, "--version", version, "--ignore-failed-sources"], temp.Path);
        var dpiqa = Path.Combine(tools, "dpiqa");
        Assert.True(File.Exists(dpiqa), $"no {dpiqa} after dotnet tool install");

        var printed = await Run(dpiqa, ["--version"], temp.Path);
        Assert.StartsWith(version, printed.Trim());

        var results = temp.Sub("out");
        await Run(dpiqa, ["score", RepoPaths.Photos, "--out", results], temp.Path);
        var images = Directory.GetFiles(RepoPaths.Photos).Count(f => Path.GetExtension(f) is ".jpg" or ".png");
        var summary = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(results, "summary.json")))!;
        Assert.Equal(images, summary["all"]!["count"]!.GetValue<long>());
        Assert.Equal(images, summary["all"]!["scored"]!.GetValue<long>());
    }

    /// <summary>Runs a command that must exit 0; its stdout.</summary>
    private async Task<string> Run(string file, string[] arguments, string directory)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine($"$ {file} {string.Join(' ', arguments)}\n{await stdout}{await stderr}");
        Assert.True(p.ExitCode == 0, $"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }
}
