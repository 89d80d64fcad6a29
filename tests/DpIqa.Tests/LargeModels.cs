using System.Buffers.Binary;
using System.Text.Json;
using DpIqa.Models;

namespace DpIqa.Tests;

/// <summary>
/// Real ONNX models whose weights sit in ONE external-data file beside the graph, as the teacher's export writes them:
/// <c>NAME/NAME.onnx</c>, <c>NAME/NAME.onnx.data</c> and the manifest <c>NAME/NAME.json</c> listing the data file's
/// sha256. The graph scores <c>a + b · mean pixel</c>, and every weight matrix takes part in every run: the mean pixel
/// is spread over a row vector v, and each matrix W (side × side) adds sum(v · W) to the score. Each W's columns sum
/// to zero (rows come in pairs x, -x), so the score stays <c>a + b · mean pixel</c> up to float rounding, while ONNX
/// Runtime must hold and multiply every weight (nothing folds away). Shared by the tests and bench/DpIqa.Bench.
/// </summary>
internal static class LargeModels
{
    /// <summary>Writes the model; returns the external-data file's size in bytes.</summary>
    /// <param name="tensors">Weight matrices.</param>
    /// <param name="side">Rows and columns of each (even); each holds side² · 4 bytes.</param>
    /// <param name="align">Offset alignment of each matrix in the data file (ONNX Runtime maps aligned CPU initializers
    /// from the file instead of copying them); 1 packs them.</param>
    public static long Write(string folder, string name, int tensors, int side, float a = 0.25f, float b = 0.5f, int align = 4096)
    {
        if (side % 2 != 0) throw new ArgumentException("side must be even");
        Directory.CreateDirectory(folder);
        var dataName = name + ".onnx.data";
        var dataPath = Path.Combine(folder, dataName);
        long tensorBytes = (long)side * side * 4;
        var g = new OnnxGraph(name);
        var image = g.Input("image", "batch", 3, 512, 512);
        var mean = g.Node("ReduceMean", [image], null, ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L)); // [N,1,1,1]
        var mean2d = g.Node("Flatten", [mean], null, ("axis", 1L)); // [N,1]
        var v = g.Node("MatMul", [mean2d, g.Constant(Enumerable.Repeat(1f, side).ToArray(), 1, side)]); // [N,side]
        var score = g.Node("Add", [g.Node("Mul", [mean2d, g.Scalar(b)]), g.Scalar(a)]);
        long offset = 0;
        using (var data = new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var rows = new byte[2 * side * 4];
            uint state = 2463534242;
            for (int t = 0; t < tensors; t++)
            {
                offset = (offset + align - 1) / align * align;
                while (data.Position < offset) data.WriteByte(0);
                var w = g.ExternalConstant(dataName, offset, tensorBytes, side, side);
                for (int r = 0; r < side; r += 2)
                {
                    for (int c = 0; c < side; c++)
                    {
                        state ^= state << 13; state ^= state >> 17; state ^= state << 5; // xorshift32: deterministic, cheap
                        float x = ((state & 0xFFFF) / 65536f - 0.5f) * 0.02f;
                        BinaryPrimitives.WriteSingleLittleEndian(rows.AsSpan(c * 4), x);
                        BinaryPrimitives.WriteSingleLittleEndian(rows.AsSpan((side + c) * 4), -x);
                    }
                    data.Write(rows);
                }
                offset += tensorBytes;
                var contribution = g.Node("ReduceSum", [g.Node("MatMul", [v, w]), g.Int64s(1)], null, ("keepdims", 1L)); // [N,1] (opset 13+: axes is an input)
                score = g.Node("Add", [score, contribution]);
            }
        }
        g.Node("Identity", [score], "score");
        g.Output("score", "batch", 1);
        var bytes = g.ToModel("dpiqa-tests", $"{a} + {b} * mean pixel, through {tensors} external {side}x{side} weights", new Dictionary<string, string>());
        File.WriteAllBytes(Path.Combine(folder, name + ".onnx"), bytes);
        var manifest = new ModelManifest
        {
            Name = name,
            Version = "1",
            File = name + ".onnx",
            Sha256 = Hashes.Sha256(bytes),
            ExternalData = new Dictionary<string, string> { [dataName] = Hashes.Sha256OfFile(dataPath) },
        };
        File.WriteAllText(Path.Combine(folder, name + ".json"), JsonSerializer.Serialize(manifest));
        return new FileInfo(dataPath).Length;
    }

    /// <summary>A small model of the same shape (folder <c>warm-up</c> under <paramref name="root"/>), to make the first-use allocations of a code path before measuring one.</summary>
    public static string WarmUp(string root)
    {
        var folder = Path.Combine(root, "warm-up");
        Write(folder, "warm-up", 1, 64);
        return folder;
    }
}
