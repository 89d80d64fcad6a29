using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// Makes (once per version of its inputs, into the ignored .cache/parity/KEY) the DP-IQA student architecture with
/// random weights, exported by tools/export, and PyTorch's reference scores; needs Debian's python3-torch and
/// python3-torchvision (missing: skipped, or failed in CI, see <see cref="Dependency"/>). KEY hashes everything that
/// determines the export and the reference: tools/export/*.py and the images (names and bytes), so a change to the
/// export scripts makes a fresh export instead of testing a stale one.
/// </summary>
public sealed class StudentParityFixture
{
    public static string CacheRoot => Path.Combine(RepoPaths.Root, ".cache", "parity");
    public string Folder { get; } = Path.Combine(CacheRoot, CacheKey(Path.Combine(RepoPaths.Root, "tools", "export"), Images()));
    public string? SkipReason { get; }
    public JsonElement Reference { get; }
    public string ModelsDir => Path.Combine(Folder, "models");

    public static string[] Images() =>
        Directory.GetFiles(RepoPaths.Photos).Where(f => !f.EndsWith(".md")).Concat(Directory.GetFiles(Path.Combine(RepoPaths.Reference, "inputs"))).Order(StringComparer.Ordinal).ToArray();

    /// <summary>SHA-256 (first 16 hex digits) over the export scripts (every *.py in <paramref name="exportDir"/>) and the images, names and bytes.</summary>
    internal static string CacheKey(string exportDir, IEnumerable<string> images)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.GetFiles(exportDir, "*.py").Order(StringComparer.Ordinal).Concat(images))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            hash.AppendData(SHA256.HashData(File.ReadAllBytes(file)));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    public StudentParityFixture()
    {
        // reference.json is written last, so a folder without it is an interrupted export and is made again.
        var referenceFile = Path.Combine(Folder, "reference.json");
        if (!File.Exists(referenceFile))
        {
            var check = Run("/usr/bin/python3", ["-c", "import torch, torchvision"]);
            if (check.Code != 0)
            {
                SkipReason = Dependency.Missing("python3-torch/python3-torchvision are not installed, so the DP-IQA student parity check cannot run (apt-get install python3-torch python3-torchvision)");
                return;
            }
            RemoveStaleExports();
            var made = Run("/usr/bin/python3", [Path.Combine(RepoPaths.Root, "tools", "export", "parity_reference.py"), Folder, .. Images()]);
            if (made.Code != 0) throw new InvalidOperationException($"parity_reference.py failed: {made.Output}");
        }
        Reference = JsonDocument.Parse(File.ReadAllText(referenceFile)).RootElement.Clone();
    }

    /// <summary>Exports made from other versions of the scripts (about 0.6 GB each) are never used again.</summary>
    private void RemoveStaleExports()
    {
        if (!Directory.Exists(CacheRoot)) return;
        foreach (var dir in Directory.GetDirectories(CacheRoot).Where(d => d != Folder)) Directory.Delete(dir, recursive: true);
        foreach (var file in Directory.GetFiles(CacheRoot)) File.Delete(file); // the unkeyed layout kept reference.json here
    }

    /// <summary>Runs a program, its stdout and stderr together; code -1 when it cannot start.</summary>
    internal static (int Code, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}

/// <summary>The proof that scores are DP-IQA's: the exported student in C# against the official PyTorch pipeline.</summary>
public sealed class StudentParityTests(StudentParityFixture fixture, ITestOutputHelper output) : IClassFixture<StudentParityFixture>
{
    [SkippableFact]
    public void Onnx_in_csharp_matches_pytorch_on_the_same_tensors()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = fixture.ModelsDir }));
        using var session = new InferenceSession(catalog.Resolve("student-random").Load());
        var npy = File.ReadAllBytes(Path.Combine(fixture.Folder, "tensors.npy"));
        int headerLength = BitConverter.ToUInt16(npy, 8);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(npy.AsSpan(10 + headerLength)).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, [3, 3, 512, 512]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["image"], [input], ["score"]);
        var ours = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var torch = fixture.Reference.GetProperty("tensor_scores").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var maxDiff = ours.Zip(torch, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"ORT {string.Join(", ", ours)} vs PyTorch {string.Join(", ", torch)}: max |diff| {maxDiff:E2}");
        Assert.True(maxDiff <= 1e-4, $"max |diff| {maxDiff} > 1e-4");
    }

    [SkippableFact]
    public async Task The_whole_csharp_pipeline_scores_like_the_official_pytorch_pipeline()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        using var dir = new TempFolder();
        var expected = fixture.Reference.GetProperty("images").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        Assert.True(expected.Count >= 20, $"only {expected.Count} reference images");

        var code = await ScoreCommand.Run(ScoreCommand.LocalJob(StudentParityFixture.Images(), dir.Path, "student-random", ResultFormat.Csv, 8), [new("Models:Path", fixture.ModelsDir)], true, false, CancellationToken.None);
        Assert.Equal(0, code);
        var results = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(dir.Path, ResultFormat.Csv)), ResultFormat.Csv);

        var pairs = new List<(double Ours, double Torch)>();
        foreach (var (path, torchScore) in expected)
        {
            // File sources are listed by file name (the shipped photos and reference inputs have distinct names).
            var row = results.Single(r => r.Path == Path.GetFileName(path));
            Assert.Equal(ImageResult.Ok, row.Status);
            pairs.Add((row.Score!.Value, torchScore));
        }
        // Every image PIL refused is an error record here too.
        Assert.Equal(results.Count - expected.Count, results.Count(r => r.Status == ImageResult.Error));
        var maxDiff = pairs.Max(p => Math.Abs(p.Ours - p.Torch));
        var spearman = Spearman(pairs.Select(p => p.Ours).ToArray(), pairs.Select(p => p.Torch).ToArray());
        output.WriteLine($"{pairs.Count} images: max |score diff| {maxDiff:E2}, Spearman {spearman:F6}");
        Assert.True(maxDiff <= 2e-3, $"max |score diff| {maxDiff} > 2e-3");
        Assert.True(spearman >= 0.999, $"Spearman {spearman} < 0.999");
    }

    [SkippableFact]
    public async Task The_uint8_input_export_scores_like_the_float_export()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        using var dir = new TempFolder();
        var photos = Directory.GetFiles(RepoPaths.Photos, "*.png").Order().ToArray();
        var scores = new Dictionary<string, IReadOnlyList<ImageResult>>();
        foreach (var model in new[] { "student-random", "student-random-u8" })
        {
            var outDir = Path.Combine(dir.Path, model);
            Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob(photos, outDir, model, ResultFormat.Jsonl, 8), [new("Models:Path", fixture.ModelsDir)], true, false, CancellationToken.None));
            scores[model] = await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(outDir, ResultFormat.Jsonl)), ResultFormat.Jsonl);
        }
        foreach (var (f, u) in scores["student-random"].Zip(scores["student-random-u8"]))
        {
            Assert.Equal(f.Path, u.Path);
            Assert.Equal(f.Score!.Value, u.Score!.Value, 5);
        }
    }

    internal static double Spearman(double[] a, double[] b)
    {
        static double[] Ranks(double[] v)
        {
            var order = v.Select((x, i) => (x, i)).OrderBy(p => p.x).ToArray();
            var ranks = new double[v.Length];
            for (int i = 0; i < order.Length;)
            {
                int j = i;
                while (j + 1 < order.Length && order[j + 1].x == order[i].x) j++;
                for (int k = i; k <= j; k++) ranks[order[k].i] = (i + j) / 2.0;
                i = j + 1;
            }
            return ranks;
        }
        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average();
        double cov = ra.Zip(rb, (x, y) => (x - ma) * (y - mb)).Sum();
        return cov / Math.Sqrt(ra.Sum(x => (x - ma) * (x - ma)) * rb.Sum(y => (y - mb) * (y - mb)));
    }
}

/// <summary>The parity export is made again when the export scripts or the images change, and only then.</summary>
public sealed class StudentParityCacheKeyTests
{
    [Fact]
    public void The_cache_key_changes_with_the_export_scripts_and_the_images()
    {
        using var dir = new TempFolder();
        var export = Path.Combine(dir.Path, "export");
        Directory.CreateDirectory(export);
        foreach (var script in Directory.GetFiles(RepoPaths.Of("tools/export"), "*.py")) File.Copy(script, Path.Combine(export, Path.GetFileName(script)));
        var images = StudentParityFixture.Images().Take(3).Select(f => dir.Copy(f, Path.GetFileName(f))).ToArray();
        var key = StudentParityFixture.CacheKey(export, images);

        Assert.Equal(key, StudentParityFixture.CacheKey(export, images));
        Assert.Equal(key, StudentParityFixture.CacheKey(RepoPaths.Of("tools/export"), StudentParityFixture.Images().Take(3)));

        File.AppendAllText(Path.Combine(export, "export.py"), "\n# a changed export\n");
        var changedScript = StudentParityFixture.CacheKey(export, images);
        Assert.NotEqual(key, changedScript);

        File.WriteAllText(Path.Combine(export, "helper.py"), "X = 1\n");
        var addedScript = StudentParityFixture.CacheKey(export, images);
        Assert.NotEqual(changedScript, addedScript);

        File.AppendAllBytes(images[0], [0]);
        Assert.NotEqual(addedScript, StudentParityFixture.CacheKey(export, images));
        Assert.NotEqual(addedScript, StudentParityFixture.CacheKey(export, images.Skip(1)));
    }
}
