using System.Text.Json;
using DpIqa.Imaging;
using Xunit.Abstractions;

namespace DpIqa.Tests.Dedup;

/// <summary>
/// Our pHash against imagehash's definition restated in NumPy/SciPy (tests/reference/phash_golden.py, hashes committed in
/// tests/reference/phash-golden.json) on the shipped photos and the reference inputs: equal bit for bit.
/// </summary>
public sealed class PerceptualHashTests(ITestOutputHelper output)
{
    private static readonly Lazy<Dictionary<string, (string Hash, double Margin)>> Golden = new(() =>
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Reference, "phash-golden.json")));
        return json.RootElement.GetProperty("hashes").EnumerateObject()
            .ToDictionary(p => p.Name, p => (p.Value.GetProperty("phash").GetString()!, p.Value.GetProperty("margin").GetDouble()));
    });

    public static TheoryData<string> Inputs() => new(Golden.Value.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Hash_equals_the_reference_bit_for_bit(string input)
    {
        var (expected, margin) = Golden.Value[input];
        using var image = Preprocessor.Run(File.ReadAllBytes(RepoPaths.Of(input)), new ImageLimits());
        var ours = PerceptualHash.Format(image.PHash!.Value);
        output.WriteLine($"{input}: ours {ours}, reference {expected}, median margin {margin:G2}");
        Assert.Equal(expected, ours);
    }

    [Fact]
    public void Every_shipped_photo_has_a_reference()
    {
        var photos = Directory.GetFiles(RepoPaths.Photos).Where(f => !f.EndsWith(".md", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f).Replace('\\', '/'));
        Assert.All(photos, p => Assert.Contains(p, Golden.Value.Keys));
    }

    [Fact]
    public void Scalar_and_vector_loops_agree()
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.Photos, "lomiri-free.jpg"));
        using var decoded = ImageDecoder.Decode(bytes, new ImageLimits());
        var vector = PerceptualHash.Grey32(decoded.Rgba, decoded.Width, decoded.Height, decoded.Stride);
        byte[] scalar;
        PilBilinearResize.Scalar = true;
        try
        {
            scalar = PerceptualHash.Grey32(decoded.Rgba, decoded.Width, decoded.Height, decoded.Stride);
        }
        finally
        {
            PilBilinearResize.Scalar = false;
        }
        Assert.Equal(scalar, vector);
    }

    [Fact]
    public void Dct_matches_its_definition()
    {
        var random = new Random(7);
        var x = Enumerable.Range(0, 32).Select(_ => (double)random.Next(256)).ToArray();
        var y = new double[8];
        PerceptualHash.Dct(x, y, 8);
        for (int k = 0; k < 8; k++)
        {
            double direct = 2 * Enumerable.Range(0, 32).Sum(n => x[n] * Math.Cos(Math.PI * k * (2 * n + 1) / 64.0));
            Assert.Equal(direct, y[k], 1e-9);
        }
    }
}
