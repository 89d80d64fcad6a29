using System.CommandLine;
using DpIqa.Imaging;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa preprocess</c>: the exact model input for one image, as a NumPy file.</summary>
internal static class PreprocessCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "Image file" };
        var output = new Option<string>("--out", "-o") { Description = "Output .npy file (float32, 3x512x512, values in [0,1])", Required = true };
        var command = new Command("preprocess", "Write the exact tensor the model sees for an image (DP-IQA preprocessing) as .npy") { image, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(image)!;
            if (!File.Exists(path)) throw new ArgumentException($"{path} does not exist");
            // A file that is not a usable image throws ImageError: exit code 1 with its kind, at the CLI boundary.
            using var pre = Preprocessor.Run(await File.ReadAllBytesAsync(path, cancellationToken), new ImageLimits());
            var tensor = new float[3 * Preprocessor.Size * Preprocessor.Size];
            ModelInput.ToTensor(pre.Rgb, tensor);
            var outPath = parse.GetValue(output)!;
            await File.WriteAllBytesAsync(outPath, NpyFile.Float32(tensor, 3, Preprocessor.Size, Preprocessor.Size), cancellationToken);
            Console.WriteLine($"{path}: {pre.OriginalWidth}x{pre.OriginalHeight} -> {outPath} (float32 3x512x512)");
            return ExitCodes.Ok;
        });
        return command;
    }
}
