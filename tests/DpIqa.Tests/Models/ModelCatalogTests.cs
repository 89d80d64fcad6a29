using System.Text.Json;
using DpIqa.Models;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Models;

public sealed class ModelCatalogTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private ModelCatalog Catalog() => new(Options.Create(new ModelOptions { Path = _dir.Path }));

    private void Import(string name, byte[] onnx, string? sha = null)
    {
        File.WriteAllBytes(Path.Combine(_dir.Path, name + ".onnx"), onnx);
        var manifest = ModelCatalog.ProxyManifest with { Name = name, File = name + ".onnx", Sha256 = sha ?? ModelCatalog.Sha256Hex(onnx) };
        File.WriteAllText(Path.Combine(_dir.Path, name + ".json"), JsonSerializer.Serialize(manifest));
    }

    [Fact]
    public void Imported_models_are_listed_after_the_built_in_default_and_load_when_the_hash_matches()
    {
        Import("copy", ProxyModel.Build());
        var catalog = Catalog();
        Assert.Equal(["proxy-sharpness", "copy"], catalog.List().Select(m => m.Name));
        Assert.Equal("proxy-sharpness", catalog.DefaultModel);
        Assert.Equal(ProxyModel.Build(), catalog.Resolve("copy").Load());
    }

    [Fact]
    public void A_model_whose_file_does_not_match_its_manifest_is_refused_with_a_message()
    {
        Import("tampered", ProxyModel.Build(), sha: new string('0', 64));
        var e = Assert.Throws<InvalidOperationException>(() => Catalog().Resolve("tampered").Load());
        Assert.Contains("sha256", e.Message);
        Assert.Contains("refusing to load", e.Message);
    }

    [Fact]
    public void An_unknown_model_name_lists_the_models_there_are()
    {
        var e = Assert.Throws<ArgumentException>(() => Catalog().Resolve("dpiqa-koniq"));
        Assert.Contains("unknown model 'dpiqa-koniq'", e.Message);
        Assert.Contains("proxy-sharpness", e.Message);
    }

    public void Dispose() => _dir.Dispose();
}
