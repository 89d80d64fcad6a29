using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Imaging;
using Xunit.Abstractions;

namespace DpIqa.Tests.Imaging;

/// <summary>
/// The 512x512 8-bit image we feed the model against what Pillow 9.4 gives for
/// <c>Image.open(p).convert('RGB').resize((512, 512), Image.BILINEAR)</c> on the shipped photos and
/// edge-case inputs (references made by tests/reference/make_references.py).
/// </summary>
public sealed class PilParityTests(ITestOutputHelper output)
{
    public sealed record ReferenceEntry(
        [property: JsonPropertyName("input")] string Input,
        [property: JsonPropertyName("expected")] string? Expected,
        [property: JsonPropertyName("format")] string? Format,
        [property: JsonPropertyName("mode")] string? Mode,
        [property: JsonPropertyName("error")] ReferenceError? Error);

    public sealed record ReferenceError([property: JsonPropertyName("type")] string Type, [property: JsonPropertyName("message")] string Message);

    private static readonly Lazy<IReadOnlyList<ReferenceEntry>> Manifest = new(() =>
        JsonSerializer.Deserialize<List<ReferenceEntry>>(File.ReadAllText(Path.Combine(RepoPaths.Reference, "expected", "manifest.json")))!);

    public static TheoryData<string> Decodable() => new(Manifest.Value.Where(e => e.Error is null).Select(e => e.Input));
    public static TheoryData<string> Refused() => new(Manifest.Value.Where(e => e.Error is not null).Select(e => e.Input));

    [Theory]
    [MemberData(nameof(Decodable))]
    public void Resized_image_matches_pillow(string input)
    {
        var entry = Manifest.Value.Single(e => e.Input == input);
        using var ours = Preprocessor.Run(File.ReadAllBytes(RepoPaths.Of(input)), new ImageLimits());
        using var expected = ImageDecoder.Decode(File.ReadAllBytes(RepoPaths.Of(entry.Expected!)), new ImageLimits());
        Assert.Equal((512, 512), (expected.Width, expected.Height));

        var (max, mean, differing) = Compare(ours.Rgb, expected.Rgba);
        output.WriteLine($"{input} ({entry.Format} {entry.Mode}): max |diff| {max}, mean {mean:F4}, {differing} values differ");
        if (entry.Format == "JPEG")
        {
            Assert.True(max <= 1, $"JPEG differs from PIL by up to {max} levels (allowed: 1)");
            Assert.True(mean <= 0.02, $"JPEG mean |diff| {mean:F4} (allowed: 0.02)");
        }
        else
        {
            Assert.True(max == 0, $"{entry.Format} must equal PIL bit for bit; {differing} values differ, by up to {max}");
        }
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Files_pillow_refuses_become_typed_errors(string input)
    {
        var entry = Manifest.Value.Single(e => e.Input == input);
        var error = Assert.Throws<ImageError>(() => Preprocessor.Run(File.ReadAllBytes(RepoPaths.Of(input)), new ImageLimits()));
        output.WriteLine($"{input}: PIL {entry.Error!.Type}: {entry.Error.Message} | ours {error.Kind.Name()}: {error.Message}");
        var expectedKind = entry.Error.Type switch
        {
            "DecompressionBombError" => ImageErrorKind.TooLarge,
            "UnidentifiedImageError" => File.ReadAllBytes(RepoPaths.Of(input)).Length == 0 ? ImageErrorKind.Decode : ImageErrorKind.Unsupported,
            "OSError" when entry.Error.Message.Contains("truncated") => ImageErrorKind.Truncated,
            _ => ImageErrorKind.Decode,
        };
        Assert.Equal(expectedKind, error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Vector_and_scalar_resize_agree_on_every_byte()
    {
        var rng = new Random(7);
        foreach (var (w, h) in new[] { (1, 1), (7, 5), (513, 300), (1200, 150), (2000, 1333), (300, 2100) })
        {
            var src = new byte[w * h * 4];
            rng.NextBytes(src);
            var vector = new byte[512 * 512 * 3];
            var scalar = new byte[512 * 512 * 3];
            PilBilinearResize.ResizeRgbaToRgb(src, w, h, w * 4, vector, 512, 512);
            try
            {
                PilBilinearResize.Scalar = true;
                PilBilinearResize.ResizeRgbaToRgb(src, w, h, w * 4, scalar, 512, 512);
            }
            finally
            {
                PilBilinearResize.Scalar = false;
            }
            Assert.True(vector.AsSpan().SequenceEqual(scalar), $"{w}x{h}: vector and scalar loops differ");
        }
    }

    internal static (int Max, double Mean, int Differing) Compare(ReadOnlySpan<byte> rgb, ReadOnlySpan<byte> rgba)
    {
        int max = 0, differing = 0;
        long sum = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            int d = Math.Abs(rgb[i] - rgba[i / 3 * 4 + i % 3]);
            if (d > max) max = d;
            if (d != 0) differing++;
            sum += d;
        }
        return (max, (double)sum / rgb.Length, differing);
    }
}
