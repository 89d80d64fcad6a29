using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// <c>dpiqa models import</c> of a model whose weights sit in one external-data file (as the teacher's export writes
/// them): the files are streamed into the catalog (the managed heap grows by far less than the file), a data file
/// whose bytes are not the manifest's is refused and leaves nothing under its name, and the imported model scores.
/// </summary>
[Collection(HeapMeasurementCollection.Name)]
public sealed class LargeModelImportTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _dir = new();

    // 10 matrices of 1024 x 1024 floats: a 40 MiB data file, big against what an import may hold in memory.
    private const int Tensors = 10, Side = 1024;

    private ModelCatalog Catalog() => new(Options.Create(new ModelOptions { Path = Path.Combine(_dir.Path, "models") }));

    [Fact]
    public async Task An_external_data_model_is_streamed_into_the_catalog_and_scores()
    {
        var export = Path.Combine(_dir.Path, "exports", "big");
        long size = LargeModels.Write(export, "big", Tensors, Side);
        var catalog = Catalog();
        catalog.Import(new ModelImport(export)); // warm up: ONNX Runtime and the JIT allocate once
        catalog.Remove("big");

        long before = GC.GetTotalAllocatedBytes(precise: true);
        var manifest = catalog.Import(new ModelImport(export));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"import of a {size / 1048576.0:F1} MiB data file allocated {allocated / 1048576.0:F2} MiB on the managed heap");
        Assert.True(allocated < size / 8, $"importing allocated {allocated} bytes for a {size}-byte data file: the import must stream");

        var data = Path.Combine(_dir.Path, "models", "big", "big.onnx.data");
        Assert.Equal(Hashes.Sha256OfFile(Path.Combine(export, "big.onnx.data")), Hashes.Sha256OfFile(data));
        Assert.Equal(manifest.ExternalData!["big.onnx.data"], Hashes.Sha256OfFile(data));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "models", "big"), "*" + ModelFiles.PartSuffix));

        // The imported model scores a + b * mean pixel through every weight: a real graph, not a copy of bytes only.
        await using var session = new ModelSession(catalog.Resolve("big"), new InferenceOptions(), NullLogger.Instance);
        using var image = Preprocessor.Run(File.ReadAllBytes(TinyModels.Photos()[0]), new ImageLimits());
        float mean = 0;
        foreach (var v in image.Rgb) mean += v / 255f;
        mean /= image.Rgb.Length;
        Assert.Equal(0.25f + 0.5f * mean, await session.Score(image, CancellationToken.None), 1e-4f);
    }

    [Fact]
    public void A_data_file_that_is_not_the_manifests_is_refused_and_leaves_no_file()
    {
        var export = Path.Combine(_dir.Path, "exports", "changed");
        LargeModels.Write(export, "changed", 2, 256);
        using (var data = File.OpenWrite(Path.Combine(export, "changed.onnx.data")))
        {
            data.Position = 1000;
            data.WriteByte(0x5a); // one byte changed after the export wrote the manifest
        }
        var e = Assert.Throws<ArgumentException>(() => Catalog().Import(new ModelImport(export)));
        output.WriteLine(e.Message);
        Assert.Contains("changed.onnx.data has sha256", e.Message);
        Assert.Contains("but the manifest says", e.Message);
        var folder = Path.Combine(_dir.Path, "models", "changed");
        Assert.False(File.Exists(Path.Combine(folder, "changed.onnx.data")));
        Assert.Empty(Directory.GetFiles(folder, "*" + ModelFiles.PartSuffix));
    }

    public void Dispose() => _dir.Dispose();
}
