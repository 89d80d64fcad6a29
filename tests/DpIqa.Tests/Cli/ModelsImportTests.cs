using System.Text.Json;
using DpIqa.Client;
using DpIqa.Models;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Cli;

/// <summary>
/// <c>dpiqa models import</c> through the CLI boundary: a file that already lives in the catalog folder (an export
/// written straight into it) is registered where it is, as often as asked; a file that is not a model is one line
/// and exit code 2.
/// </summary>
public sealed class ModelsImportTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private string Catalog => Path.Combine(_dir.Path, "models");

    /// <summary>The exit code and stderr, its lines joined: empty when the import succeeded.</summary>
    private async Task<(int Code, string Error)> Import(string onnx, string name)
    {
        var (code, lines) = await CliInProcess.Run(["models", "import", onnx, "--name", name, "--models-dir", Catalog]);
        return (code, string.Join('\n', lines));
    }

    private static string ManifestSha(string manifest) =>
        JsonDocument.Parse(File.ReadAllText(manifest)).RootElement.GetProperty("sha256").GetString()!;

    [Fact]
    public async Task A_file_already_in_the_catalog_folder_is_registered_in_place_and_again_on_a_second_import()
    {
        var bytes = ProxyModel.Build();
        Directory.CreateDirectory(Catalog);
        var inPlace = Path.Combine(Catalog, "exported.onnx");
        File.WriteAllBytes(inPlace, bytes);

        // Same name as the file: the catalog's own file is the source.
        File.WriteAllBytes(Path.Combine(Catalog, "mine.onnx"), bytes);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            var (code, error) = await Import(Path.Combine(Catalog, "mine.onnx"), "mine");
            Assert.Equal((ExitCodes.Ok, ""), (code, error));
        }
        // Another name: the file in the catalog folder is copied under the model's name.
        Assert.Equal((ExitCodes.Ok, ""), await Import(inPlace, "other"));

        Assert.Equal(Hashes.Sha256(bytes), ManifestSha(Path.Combine(Catalog, "mine", "mine.json")));
        Assert.Equal(Hashes.Sha256(bytes), ManifestSha(Path.Combine(Catalog, "other", "other.json")));
        var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = Catalog }));
        Assert.Equal(bytes, catalog.Resolve("mine").Load()); // the hash check at load time passes: the file is intact
        Assert.Equal(bytes, catalog.Resolve("other").Load());
        Assert.Equal(bytes, File.ReadAllBytes(inPlace));
    }

    [Fact]
    public async Task A_file_that_is_not_an_onnx_model_is_refused_in_one_line()
    {
        var file = Path.Combine(_dir.Path, "notes.onnx");
        File.WriteAllText(file, "not a model");
        var (code, error) = await Import(file, "notes");
        Assert.Equal(ExitCodes.InvalidRequest, code);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: {file} is not an ONNX model ONNX Runtime can load", lines[0]);
        Assert.False(File.Exists(Path.Combine(Catalog, "notes.json")));
    }

    public void Dispose() => _dir.Dispose();
}
