using System.Diagnostics;
using DpIqa.Imaging;
using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Bench;

/// <summary>
/// ONNX Runtime alone on the parity student's graph (the one dpiqa runs), on the student bench's 16 JPEGs already
/// preprocessed: 1 run x 2 intra-op threads against 2 concurrent runs x 1 thread, batch 1/2/4, then denormals
/// flushed to zero and the lower graph optimisation levels. With the exact decode + resize cost per image (one
/// thread) it computes the 2-core pipeline's ceiling, ceiling = 1 / (1 / best ORT images/s + decode core-s / cores)
/// (inference and decoding share the cores), and prints dpiqa's end-to-end rate, measured in the same run, as a
/// fraction of it.
/// </summary>
internal static class StudentOrtBench
{
    private const int Images = 8; // per configuration: about 3 s at batch 1 on 2 cores

    private sealed record Config(int Runs, int Threads, int Batch, bool Flush, GraphOptimizationLevel Level)
    {
        public override string ToString() =>
            $"{Runs} run{(Runs > 1 ? "s" : " ")} x {Threads} thread{(Threads > 1 ? "s" : " ")}, batch {Batch}, denormals {(Flush ? "flushed" : "kept  ")}, {Level.ToString()["ORT_".Length..]}";
    }

    public static async Task Run(string root)
    {
        var models = StudentBench.ModelsDir(root);
        if (models is null)
        {
            Console.WriteLine("# student-ort: SKIPPED (run the parity tests first: they export .cache/parity/KEY/models/student-random)");
            return;
        }
        var (folder, files) = StudentBench.ImageFolder(root);
        var graph = Path.Combine(models, "student-random", "student-random.onnx");
        Console.WriteLine($"# student-ort: ONNX Runtime alone on {Path.GetRelativePath(root, graph)}, {Images} images per configuration, {Environment.ProcessorCount} cores");
        const int imageFloats = 3 * Preprocessor.Size * Preprocessor.Size;
        var inputs = files.Select(f =>
        {
            using var image = Preprocessor.Run(File.ReadAllBytes(f), new ImageLimits());
            var chw = new float[imageFloats];
            ModelInput.ToTensor(image.Rgb, chw);
            return chw;
        }).ToArray();

        List<Config> configs = [];
        foreach (var batch in new[] { 1, 2, 4 })
        {
            configs.Add(new(1, 2, batch, false, GraphOptimizationLevel.ORT_ENABLE_ALL));
            configs.Add(new(2, 1, batch, false, GraphOptimizationLevel.ORT_ENABLE_ALL));
        }
        configs.Add(new(1, 2, 1, true, GraphOptimizationLevel.ORT_ENABLE_ALL));
        configs.Add(new(2, 1, 1, true, GraphOptimizationLevel.ORT_ENABLE_ALL));
        configs.Add(new(1, 2, 1, false, GraphOptimizationLevel.ORT_ENABLE_EXTENDED));
        configs.Add(new(1, 2, 1, false, GraphOptimizationLevel.ORT_ENABLE_BASIC));

        var rates = new Dictionary<Config, double>();
        // One session per (threads, flush, level): creating one optimises a 300 MB graph, seconds each.
        foreach (var group in configs.GroupBy(c => (c.Threads, c.Flush, c.Level)))
        {
            using var options = new SessionOptions { GraphOptimizationLevel = group.Key.Level, IntraOpNumThreads = group.Key.Threads };
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); // as dpiqa runs it
            if (group.Key.Flush) options.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
            using var session = new InferenceSession(graph, options);
            foreach (var c in group)
            {
                Pass(session, inputs, c, c.Batch * c.Runs); // warm-up
                rates[c] = Pass(session, inputs, c, Images);
                Console.WriteLine($"  {c}: {rates[c],7:F3} images/s");
            }
        }
        var best = rates.MaxBy(r => r.Value);
        double decodeCoreSeconds = PreprocessBench.Ours(files, threads: 1, repeats: 2) / 1000;
        int cores = Environment.ProcessorCount;
        double ceiling = 1 / (1 / best.Value + decodeCoreSeconds / cores);
        // dpiqa's default (one single-threaded run per core) and ORT's usual best (one run on all cores), interleaved.
        List<KeyValuePair<string, string?>> oneRun() => [new("Inference:ConcurrentRuns", "1"), new("Inference:IntraOpThreads", cores.ToString())];
        double dpiqa = await StudentBench.Dpiqa(folder, models, []);
        double dpiqaOneRun = await StudentBench.Dpiqa(folder, models, oneRun());
        dpiqa = (dpiqa + await StudentBench.Dpiqa(folder, models, [])) / 2;
        Console.WriteLine($"best ORT configuration: {best.Key}: {best.Value:F3} images/s ({1 / best.Value:F3} s/image on {cores} cores)");
        Console.WriteLine($"exact decode + resize: {decodeCoreSeconds:F3} core-s/image (1 thread, best of 2)");
        Console.WriteLine($"pipeline ceiling = 1 / (1/{best.Value:F3} + {decodeCoreSeconds:F3}/{cores}) = {ceiling:F3} images/s");
        Console.WriteLine($"dpiqa score (default settings: {cores} runs x 1 thread, batch 1; warm job rate, mean of 2): {dpiqa:F3} images/s = {dpiqa / ceiling:F2} of the ceiling");
        Console.WriteLine($"dpiqa score (1 run x {cores} threads, batch 1; warm job rate):                 {dpiqaOneRun:F3} images/s = {dpiqaOneRun / ceiling:F2} of the ceiling");
        Console.WriteLine();
        Directory.Delete(folder, true);
    }

    /// <summary>Scores <paramref name="count"/> images with <c>c.Runs</c> concurrent runs of <c>c.Batch</c>; images/s.</summary>
    private static double Pass(InferenceSession session, float[][] inputs, Config c, int count)
    {
        const int imageFloats = 3 * Preprocessor.Size * Preprocessor.Size;
        int runsEach = Math.Max(1, count / (c.Batch * c.Runs));
        var sw = Stopwatch.StartNew();
        Parallel.For(0, c.Runs, new ParallelOptions { MaxDegreeOfParallelism = c.Runs }, r =>
        {
            var input = new float[c.Batch * imageFloats];
            using var runOptions = new RunOptions();
            for (int k = 0; k < runsEach; k++)
            {
                for (int i = 0; i < c.Batch; i++)
                    inputs[(r * runsEach * c.Batch + k * c.Batch + i) % inputs.Length].CopyTo(input, i * imageFloats);
                using var tensor = OrtValue.CreateTensorValueFromMemory(input, [c.Batch, 3, Preprocessor.Size, Preprocessor.Size]);
                using var outputs = session.Run(runOptions, ["image"], [tensor], ["score"]);
            }
        });
        return runsEach * c.Batch * c.Runs / sw.Elapsed.TotalSeconds;
    }
}
