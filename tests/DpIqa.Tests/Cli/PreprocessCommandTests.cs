using DpIqa.Client;
using DpIqa.Imaging;

namespace DpIqa.Tests.Cli;

public sealed class PreprocessCommandTests
{
    [Fact]
    public void The_npy_file_equals_torchvision_ToTensor_output_byte_for_byte()
    {
        // tensor-coffee.npy: np.asarray(PIL image resized).transpose(2,0,1) / 255 in float32, made by make_references.py.
        var expected = File.ReadAllBytes(Path.Combine(RepoPaths.Reference, "expected", "tensor-coffee.npy"));
        using var image = Preprocessor.Run(File.ReadAllBytes(Path.Combine(RepoPaths.Photos, "skimage-coffee.png")), new ImageLimits());
        var tensor = new float[3 * 512 * 512];
        ModelInput.ToTensor(image.Rgb, tensor);
        var ours = NpyFile.Float32(tensor, 3, 512, 512);
        Assert.Equal(expected.Length, ours.Length);
        Assert.True(expected.AsSpan(128).SequenceEqual(ours.AsSpan(128)), "tensor data differs from torchvision's");
        Assert.Contains("'shape': (3, 512, 512)", System.Text.Encoding.ASCII.GetString(ours, 10, 118));
    }
}
