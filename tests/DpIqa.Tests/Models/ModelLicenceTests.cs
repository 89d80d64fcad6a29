using System.Text.Json;
using DpIqa.Models;
using DpIqa.Models.Brisque;
using DpIqa.Tests.Cli;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Models;

/// <summary>
/// Every model carries a licence: the built-in ones in their manifests, an import of an official DP-IQA checkpoint
/// name records CC BY-NC-SA 4.0 and says at import that it is non-commercial; <c>models list</c> shows it.
/// </summary>
public sealed class ModelLicenceTests : IDisposable
{
    private readonly TempFolder _dir = new();

    [Fact]
    public void The_built_in_models_carry_their_licence()
    {
        var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = _dir.Sub("models") }));
        var brisque = catalog.List().Single(m => m.Name == BrisqueModel.Name);
        Assert.Equal(("Apache-2.0", ModelManifest.LowerIsBetter, false), (brisque.Licence, brisque.Direction, brisque.NonCommercial));
        Assert.Equal([0.0, 100.0], brisque.ScoreRange!);
        Assert.False(string.IsNullOrEmpty(catalog.List().Single(m => m.Name == ProxyModel.Name).Licence));
    }

    [Theory]
    [InlineData("koniq_student_model_plcc_best.onnx", null, "CC-BY-NC-SA-4.0")]
    [InlineData("exported.onnx", "DP-IQA student (EfficientNet-B7) from spaq_student_model_srcc_best.pth; trained on SPAQ (MOS/100)", "CC-BY-NC-SA-4.0")]
    [InlineData("exported.onnx", "something else", null)]
    public void An_official_dp_iqa_name_records_the_non_commercial_licence(string file, string? description, string? licence)
    {
        var onnx = Path.Combine(_dir.Path, file);
        File.WriteAllBytes(onnx, ProxyModel.Build());
        string? manifest = null;
        if (description is not null)
        {
            manifest = Path.Combine(_dir.Path, "exported.json");
            File.WriteAllText(manifest, JsonSerializer.Serialize(ModelCatalog.ProxyManifest with { Name = "exported", Description = description, Sha256 = "", Licence = null }));
        }
        var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = _dir.Sub("models") }));
        var imported = catalog.Import(new ModelImport(onnx) { Name = "m", ManifestPath = manifest });
        Assert.Equal(licence, imported.Licence);
        Assert.Equal(licence, catalog.Resolve("m").Manifest.Licence); // recorded in the catalog's manifest
        Assert.Equal("Apache-2.0", catalog.Import(new ModelImport(onnx) { Name = "n", ManifestPath = manifest, Licence = "Apache-2.0" }).Licence); // --licence wins
    }

    [Fact]
    public async Task Models_import_says_non_commercial_and_models_list_shows_every_licence()
    {
        var onnx = Path.Combine(_dir.Path, "livec_student_model_plcc_best.onnx");
        File.WriteAllBytes(onnx, ProxyModel.Build());
        var models = _dir.Sub("models");
        var (code, output, err) = await DpiqaProcess.Run(_dir.Path, ["models", "import", onnx, "--name", "livec", "--models-dir", models]);
        Assert.True(code == 0, string.Join('\n', err));
        Assert.Contains(output.Split('\n'), l => l.StartsWith("imported livec", StringComparison.Ordinal) && l.Contains("licence CC-BY-NC-SA-4.0 (non-commercial)"));
        Assert.Contains(output.Split('\n'), l => l.StartsWith("note: livec is licensed CC-BY-NC-SA-4.0: non-commercial use only", StringComparison.Ordinal));

        (code, output, err) = await DpiqaProcess.Run(_dir.Path, ["models", "list", "--models-dir", models]);
        Assert.True(code == 0, string.Join('\n', err));
        Assert.Contains(output.Split('\n'), l => l.StartsWith("brisque (default)  v1  scores 0..100, lower is better  licence Apache-2.0", StringComparison.Ordinal));
        Assert.Contains(output.Split('\n'), l => l.StartsWith("livec  v1", StringComparison.Ordinal) && l.Contains("licence CC-BY-NC-SA-4.0 (non-commercial)"));
    }

    public void Dispose() => _dir.Dispose();
}
