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
        var manifest = ModelCatalog.ProxyManifest with { Name = name, File = name + ".onnx", Sha256 = sha ?? Hashes.Sha256(onnx) };
        File.WriteAllText(Path.Combine(_dir.Path, name + ".json"), JsonSerializer.Serialize(manifest));
    }

    [Fact]
    public void Imported_models_are_listed_after_the_built_in_default_and_load_when_the_hash_matches()
    {
        Import("copy", ProxyModel.Build());
        var catalog = Catalog();
        Assert.Equal(["brisque", "proxy-sharpness", "copy"], catalog.List().Select(m => m.Name)); // the built-in ones first
        Assert.Equal("brisque", catalog.DefaultModel);
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

    [Fact]
    public void Import_reads_the_contract_from_the_graph_records_the_hash_and_remove_deletes_it()
    {
        using var source = new TempFolder();
        var onnx = Path.Combine(source.Path, "exported.onnx");
        File.WriteAllBytes(onnx, ProxyModel.Build());
        var catalog = Catalog();
        var m = catalog.Import(onnx, "my-model", manifestPath: null, version: "2");
        Assert.Equal(("image", "score", "float32", "2"), (m.Input, m.Output, m.InputType, m.Version));
        Assert.Equal(Hashes.Sha256(ProxyModel.Build()), m.Sha256);
        Assert.Equal(ProxyModel.Build(), catalog.Resolve("my-model").Load());
        catalog.Remove("my-model");
        Assert.DoesNotContain("my-model", catalog.List().Select(x => x.Name));
        Assert.False(File.Exists(Path.Combine(_dir.Path, "my-model.onnx")));
    }

    [Theory]
    [InlineData("Bad Name", "is not allowed")]
    [InlineData("proxy-sharpness", "built-in")]
    [InlineData("brisque", "built-in")]
    public void Import_refuses_bad_names(string name, string message)
    {
        using var source = new TempFolder();
        var onnx = Path.Combine(source.Path, "exported.onnx");
        File.WriteAllBytes(onnx, ProxyModel.Build());
        var e = Assert.Throws<ArgumentException>(() => Catalog().Import(onnx, name, null, null));
        Assert.Contains(message, e.Message);
    }

    public void Dispose() => _dir.Dispose();
}
