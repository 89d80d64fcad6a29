using System.Text.Json;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Models;
using DpIqa.Tests.Cluster;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa models</c> end to end, as processes on the cluster's blob catalog (Azurite): import, list, verify and
/// remove in text and <c>--json</c>; verify exits 1 naming a model whose blob no longer matches its sha256; refused
/// requests (a bad score range, removing the built-in model or one that is not there) exit 2 with one line.
/// </summary>
public sealed class ModelsCommandsEndToEndTests(Azurite azurite, ITestOutputHelper output) : IClassFixture<Azurite>, IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly string _container = "e2e-models-" + Guid.NewGuid().ToString("N")[..8];

    private string Source => $"blob:{_container}/catalog";

    /// <summary>
    /// dpiqa with the storage account in its environment, an empty local catalog (only the cluster's counts) and a
    /// fresh download cache, so each verify reads the blobs as they are now.
    /// </summary>
    private async Task<(int Code, string Out, string[] Err)> Dpiqa(params string[] args)
    {
        var (code, stdout, err) = await DpiqaProcess.Run(_dir.Path, [.. args, "--models-dir", Path.Combine(_dir.Path, "local-models")],
            new Dictionary<string, string>
            {
                ["Storage__ConnectionString"] = azurite.ConnectionString,
                ["Models__CachePath"] = Path.Combine(_dir.Path, "cache-" + Guid.NewGuid().ToString("N")[..8]),
            });
        output.WriteLine($"dpiqa {string.Join(' ', args)} -> {code}\n{stdout}{string.Join('\n', err)}");
        return (code, stdout, err);
    }

    private static IEnumerable<string> Names(string listJson)
    {
        using var doc = JsonDocument.Parse(listJson);
        return doc.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToList();
    }

    [SkippableFact]
    public async Task Import_list_verify_and_remove_on_the_cluster_catalog_with_refusals_in_one_line()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var export = Path.Combine(_dir.Path, "exports", "tiny");
        TinyModels.Add(export, "tiny", 0f, 1f); // an export folder: tiny.onnx and its manifest, no score range in it
        var sha = Hashes.Sha256(await File.ReadAllBytesAsync(Path.Combine(export, "tiny.onnx")));

        // Independent commands run at once: each process start costs seconds on a loaded machine.
        var (badRange, builtIn, import) = await DpiqaProcess.Together(
            Dpiqa("models", "import", export, "--to-cluster", "--source", Source, "--score-range", "5,1"),
            Dpiqa("models", "remove", ProxyModel.Name, "--source", Source),
            Dpiqa("models", "import", export, "--to-cluster", "--source", Source, "--score-range", "0,1", "--json"));
        Assert.Equal(ExitCodes.InvalidRequest, badRange.Code);
        DpiqaProcess.AssertOneErrorLine(badRange.Err, "--score-range '5,1' is not LOW,HIGH with LOW < HIGH");
        Assert.Equal(ExitCodes.InvalidRequest, builtIn.Code);
        DpiqaProcess.AssertOneErrorLine(builtIn.Err, $"'{ProxyModel.Name}' is built in and cannot be removed");
        Assert.Equal(ExitCodes.Ok, import.Code);
        using (var imported = JsonDocument.Parse(import.Out))
        {
            Assert.Equal(("tiny", sha), (imported.RootElement.GetProperty("name").GetString(), imported.RootElement.GetProperty("sha256").GetString()));
            Assert.Equal([0.0, 1.0], imported.RootElement.GetProperty("score_range").EnumerateArray().Select(v => v.GetDouble()));
        }

        var (list, listJson, verify) = await DpiqaProcess.Together(
            Dpiqa("models", "list", "--source", Source), Dpiqa("models", "list", "--source", Source, "--json"), Dpiqa("models", "verify", "--source", Source, "--json"));
        Assert.Equal(ExitCodes.Ok, list.Code);
        Assert.Contains($"tiny  v1  scores 0..1, higher is better  licence unknown  sha256 {sha[..12]}", list.Out);
        Assert.Contains("tiny", Names(listJson.Out));
        Assert.Equal(ExitCodes.Ok, verify.Code);
        using (var verified = JsonDocument.Parse(verify.Out))
            Assert.Contains(verified.RootElement.EnumerateArray(), m => m.GetProperty("name").GetString() == "tiny" && m.GetProperty("ok").GetBoolean());

        // The model's blob changes behind the catalog's back: verify names it and exits 1.
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient(_container).GetBlobClient("catalog/tiny/tiny.onnx");
        var tampered = (await blob.DownloadContentAsync()).Value.Content.ToArray().Append((byte)0).ToArray();
        await blob.UploadAsync(BinaryData.FromBytes(tampered), overwrite: true);
        var failed = await Dpiqa("models", "verify", "--source", Source);
        Assert.Equal(ExitCodes.Failed, failed.Code);
        Assert.Contains(failed.Out.Split('\n'), l => l.StartsWith("FAILED  tiny v1: ", StringComparison.Ordinal) && l.Contains(Hashes.Sha256(tampered), StringComparison.Ordinal));

        var remove = await Dpiqa("models", "remove", "tiny", "--source", Source);
        Assert.Equal((ExitCodes.Ok, "removed tiny"), (remove.Code, remove.Out.Trim()));
        var (again, after) = await DpiqaProcess.Together(Dpiqa("models", "remove", "tiny", "--source", Source), Dpiqa("models", "list", "--source", Source, "--json"));
        Assert.Equal(ExitCodes.InvalidRequest, again.Code);
        DpiqaProcess.AssertOneErrorLine(again.Err, $"unknown model 'tiny' in {Source}");
        Assert.DoesNotContain("tiny", Names(after.Out));
    }

    public void Dispose() => _dir.Dispose();
}
