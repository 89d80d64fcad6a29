using System.Diagnostics;
using System.Text.Json;
using DpIqa.Models;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// Writes checkpoints in the layouts users have (tests/DpIqa.Tests/Models/pack_checkpoint.py: a whole pickled student
/// named iqa_models.student.StudentEfficientNet, as the official demo's *_pack.pth, and a training-state dict) and
/// exports the pickled one with tools/export/export.py, once per version of those scripts (into the ignored
/// .cache/pack-export/KEY, about 3 minutes on 2 cores). Needs Debian's python3-torch and python3-torchvision.
/// </summary>
public sealed class PackExportFixture
{
    public const string ModelName = "koniq-pack";
    private static string CacheRoot => Path.Combine(RepoPaths.Root, ".cache", "pack-export");
    private static string WriterScript => RepoPaths.Of("tests/DpIqa.Tests/Models/pack_checkpoint.py");

    public string Folder { get; } = Path.Combine(CacheRoot, StudentParityFixture.CacheKey(RepoPaths.Of("tools/export"), [WriterScript]));
    public string? SkipReason { get; }
    public string ExportFolder => Path.Combine(Folder, "out", ModelName);

    public PackExportFixture()
    {
        // done is written last, so a folder without it is an interrupted run and is made again.
        var done = Path.Combine(Folder, "done");
        if (File.Exists(done)) return;
        if (Python.Run(["-c", "import torch, torchvision"]).Code != 0)
        {
            SkipReason = Dependency.Missing("python3-torch/python3-torchvision are not installed, so the checkpoint-format exports cannot run (apt-get install python3-torch python3-torchvision)");
            return;
        }
        if (Directory.Exists(CacheRoot))
            foreach (var stale in Directory.GetDirectories(CacheRoot)) Directory.Delete(stale, recursive: true);
        Directory.CreateDirectory(Folder);
        var written = Python.Run([WriterScript, Folder]);
        if (written.Code != 0) throw new InvalidOperationException($"pack_checkpoint.py failed: {written.Output}");
        var exported = Python.Run([RepoPaths.Of("tools/export/export.py"), "student", "--checkpoint", Path.Combine(Folder, "koniq_student_model_pack.pth"),
            "--out", Path.Combine(Folder, "out"), "--name", ModelName]);
        if (exported.Code != 0) throw new InvalidOperationException($"export.py failed: {exported.Output}");
        File.WriteAllText(done, exported.Output);
    }
}

/// <summary>Runs /usr/bin/python3 (the interpreter with Debian's torch, not the first python3 on PATH).</summary>
internal static class Python
{
    public static (int Code, string Output, string Error) Run(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout + stderr.Result, stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message, e.Message);
        }
    }
}

/// <summary>The exporter reads the checkpoints users have and says what it found in one it cannot read.</summary>
public sealed class ExporterCheckpointTests(PackExportFixture fixture, ITestOutputHelper output) : IClassFixture<PackExportFixture>
{
    [SkippableFact]
    public void A_whole_pickled_student_exports_to_a_graph_that_scores_like_the_pickled_model()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var onnx = Path.Combine(fixture.ExportFolder, PackExportFixture.ModelName + ".onnx");
        using var session = new InferenceSession(onnx);
        var npy = File.ReadAllBytes(Path.Combine(fixture.Folder, "inputs.npy"));
        int headerLength = BitConverter.ToUInt16(npy, 8);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(npy.AsSpan(10 + headerLength)).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, [2, 3, 512, 512]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["image"], [input], ["score"]);
        var ours = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var pickled = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Folder, "pack-reference.json"))).RootElement
            .GetProperty("scores").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        output.WriteLine($"ONNX {string.Join(", ", ours)} vs pickled model {string.Join(", ", pickled)}");
        Assert.Equal(2, ours.Length);
        for (int i = 0; i < 2; i++) Assert.True(Math.Abs(ours[i] - pickled[i]) <= 1e-4 * Math.Max(1, Math.Abs(pickled[i])), $"image {i}: {ours[i]} vs {pickled[i]}");

        // Named koniq_*: trained on KonIQ-10k's MOS/100, so the manifest records 0..1, higher is better.
        var manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(Path.Combine(fixture.ExportFolder, PackExportFixture.ModelName + ".json")))!;
        Assert.Equal((0.0, 1.0), manifest.DeclaredRange());
        Assert.Equal(ModelManifest.HigherIsBetter, manifest.Direction);
        Assert.Contains("KonIQ-10k", manifest.Description);
        Assert.Equal(Hashes.Sha256OfFile(onnx), manifest.Sha256);
    }

    [SkippableFact]
    public async Task The_export_folder_is_what_models_import_takes_and_the_score_range_can_be_set_there()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        using var dir = new TempFolder();
        var catalogDir = Path.Combine(dir.Path, "models");
        var (code, error) = await Cli.CliInProcess.Run(["models", "import", fixture.ExportFolder, "--score-range", "1,100", "--models-dir", catalogDir]);
        Assert.Equal(0, code);
        Assert.Empty(error);

        var catalog = new ModelCatalog(Options.Create(new ModelOptions { Path = catalogDir }));
        var imported = catalog.List().Single(m => m.Name == PackExportFixture.ModelName);
        Assert.Equal((1.0, 100.0), imported.DeclaredRange()); // --score-range wins over the exporter's 0..1
        Assert.Equal(File.ReadAllBytes(Path.Combine(fixture.ExportFolder, PackExportFixture.ModelName + ".onnx")), catalog.Resolve(imported.Name).Load());
    }

    [SkippableFact]
    public void A_checkpoint_in_an_unknown_layout_is_refused_with_the_keys_it_holds()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        using var dir = new TempFolder();
        var (code, _, error) = Python.Run([RepoPaths.Of("tools/export/export.py"), "student", "--checkpoint", Path.Combine(fixture.Folder, "training-state.pth"), "--out", dir.Path]);
        output.WriteLine(error);
        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("is not a DP-IQA student checkpoint: it holds a dict with keys 'epoch', 'optimizer'", line);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
