using System.Text.Json;
using DpIqa.Models;

namespace DpIqa.Tests;

/// <summary>Tiny real ONNX models for a temp model catalog: score = a + b · mean pixel (the pixels are on [0, 1]).</summary>
internal static class TinyModels
{
    public static void Add(string folder, string name, float a, float b, double[]? scoreRange = null, string direction = ModelManifest.HigherIsBetter)
    {
        var g = new OnnxGraph(name);
        var image = g.Input("image", "batch", 3, 512, 512);
        var mean = g.Node("ReduceMean", [image], null, ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L));
        var score = g.Node("Add", [g.Node("Mul", [mean, g.Scalar(b)]), g.Scalar(a)]);
        g.Node("Flatten", [score], "score", ("axis", 1L));
        g.Output("score", "batch", 1);
        Write(folder, name, g.ToModel("dpiqa-tests", $"{a} + {b} * mean pixel", new Dictionary<string, string>()), scoreRange, direction);
    }

    /// <summary>
    /// score = mean pixel, but a run FAILS (ONNX Runtime refuses a Gather index out of bounds) when any image of the
    /// batch has a mean pixel above <paramref name="failAbove"/>: a model that one input breaks at run time.
    /// </summary>
    public static void AddFailingAbove(string folder, string name, float failAbove)
    {
        var g = new OnnxGraph(name);
        var image = g.Input("image", "batch", 3, 512, 512);
        var mean = g.Node("ReduceMean", [image], null, ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L));
        var index = g.Node("Cast", [g.Node("Greater", [mean, g.Scalar(failAbove)])], null, ("to", 7L)); // 0, or 1 above the limit
        var guard = g.Node("Gather", [g.Constant([0f], 1), index], null, ("axis", 0L)); // one element: index 1 is out of bounds
        g.Node("Flatten", [g.Node("Add", [mean, guard])], "score", ("axis", 1L));
        g.Output("score", "batch", 1);
        Write(folder, name, g.ToModel("dpiqa-tests", $"mean pixel; fails above {failAbove}", new Dictionary<string, string>()), null);
    }

    /// <summary>score = the number of images in the run that scored it (its batch size): what batch a model ran with.</summary>
    public static void AddBatchSize(string folder, string name)
    {
        var g = new OnnxGraph(name);
        var image = g.Input("image", "batch", 3, 512, 512);
        var mean = g.Node("ReduceMean", [image], null, ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L)); // [N,1,1,1]
        var batch = g.Node("Cast", [g.Node("Gather", [g.Node("Shape", [image]), g.Int64s(0)], null, ("axis", 0L))], null, ("to", 1L)); // [1]
        var score = g.Node("Add", [g.Node("Mul", [mean, g.Scalar(0f)]), batch]);
        g.Node("Flatten", [score], "score", ("axis", 1L));
        g.Output("score", "batch", 1);
        Write(folder, name, g.ToModel("dpiqa-tests", "batch size", new Dictionary<string, string>()), null);
    }

    private static void Write(string folder, string name, byte[] bytes, double[]? scoreRange, string direction = ModelManifest.HigherIsBetter)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, name + ".onnx"), bytes);
        var manifest = new ModelManifest
        {
            Name = name,
            Version = "1",
            File = name + ".onnx",
            Sha256 = Hashes.Sha256(bytes),
            ScoreRange = scoreRange,
            Direction = direction,
        };
        File.WriteAllText(Path.Combine(folder, name + ".json"), JsonSerializer.Serialize(manifest));
    }

    /// <summary>The shipped photos (not SOURCES.md), in name order.</summary>
    public static string[] Photos() =>
        Directory.GetFiles(RepoPaths.Photos).Where(p => !p.EndsWith(".md", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
}
