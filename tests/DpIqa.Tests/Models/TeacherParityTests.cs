using System.Text.Json;
using DpIqa.Client.Commands;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Tests.Cli;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace DpIqa.Tests.Models;

/// <summary>
/// Makes (once per version of tools/export/*.py and the shipped photos, into the ignored .cache/teacher-parity/KEY)
/// the small-configuration DP-IQA teacher: a checkpoint laid out as the official one, its export by
/// <c>export.py teacher</c> and PyTorch's scores (tools/export/teacher_parity.py). Needs Debian's python3-torch,
/// python3-torchvision and python3-onnx (missing: skipped, or failed in CI, see <see cref="Dependency"/>).
/// </summary>
public sealed class TeacherParityFixture
{
    public const string Model = "teacher-small";
    private static string CacheRoot => Path.Combine(RepoPaths.Root, ".cache", "teacher-parity");
    public string Folder { get; } = Path.Combine(CacheRoot, StudentParityFixture.CacheKey(RepoPaths.Of("tools/export"), Photos()));
    public string? SkipReason { get; }
    public JsonElement Reference { get; }
    public string ExportFolder => Path.Combine(Folder, "models", Model);

    /// <summary>Every other shipped photo (five, JPEG and PNG): enough for a cascade band with images on both sides, and
    /// the small teacher costs seconds per image on 2 cores.</summary>
    public static string[] Photos() => Directory.GetFiles(RepoPaths.Photos).Where(f => !f.EndsWith(".md")).Order(StringComparer.Ordinal).Where((_, i) => i % 2 == 0).ToArray();

    public TeacherParityFixture()
    {
        SkipReason = TorchMissing();
        if (SkipReason is not null) return;
        // reference.json is written last, so a folder without it is an interrupted run and is made again.
        var referenceFile = Path.Combine(Folder, "reference.json");
        if (!File.Exists(referenceFile))
        {
            if (Directory.Exists(CacheRoot))
                foreach (var stale in Directory.GetDirectories(CacheRoot)) Directory.Delete(stale, recursive: true);
            var made = Python.Run([RepoPaths.Of("tools/export/teacher_parity.py"), Folder, .. Photos()]);
            if (made.Code != 0) throw new InvalidOperationException($"teacher_parity.py failed: {made.Output}{made.Error}");
        }
        Reference = JsonDocument.Parse(File.ReadAllText(referenceFile)).RootElement.Clone();
    }

    /// <summary>Null when /usr/bin/python3 has torch, torchvision and onnx; else the skip reason (CI: throws).</summary>
    public static string? TorchMissing() =>
        Python.Run(["-c", "import torch, torchvision, onnx"]).Code == 0
            ? null
            : Dependency.Missing("python3-torch/python3-torchvision/python3-onnx are not installed, so the DP-IQA teacher checks cannot run (apt-get install python3-torch python3-torchvision python3-onnx)");
}

/// <summary>
/// The proof that our plain-PyTorch teacher (tools/export/teacher_model.py) is DP-IQA's: tensor by tensor against
/// the official code run on diffusers 0.24.0 (teacher_reference.pt, made by tools/export/teacher_reference.py),
/// key by key against the full-size official state_dict, and its ONNX export in C# against PyTorch, alone and as
/// the teacher of a cascade.
/// </summary>
public sealed class TeacherParityTests(TeacherParityFixture fixture, ITestOutputHelper output) : IClassFixture<TeacherParityFixture>, IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static JsonElement Check(string what)
    {
        var run = Python.Run([RepoPaths.Of("tests/DpIqa.Tests/Models/teacher_check.py"), what]);
        if (run.Code != 0) throw new InvalidOperationException($"teacher_check.py {what} failed: {run.Output}{run.Error}");
        return JsonDocument.Parse(run.Output).RootElement.Clone();
    }

    [SkippableFact]
    public void Every_tensor_matches_the_official_code_within_1e_4_relative()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var result = Check("tensors");
        output.WriteLine(result.ToString());
        var errors = result.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number && p.Name != "count").ToList();
        // latent, 4 adapter features, 4 taps, score, map; with the text context computed per image and folded.
        Assert.Equal(22, errors.Count);
        Assert.Equal(22, result.GetProperty("count").GetInt32());
        foreach (var e in errors) Assert.True(e.Value.GetDouble() <= 1e-4, $"{e.Name}: {e.Value.GetDouble():E2} relative > 1e-4");
    }

    [SkippableFact]
    public void The_full_size_model_has_exactly_the_official_keys_and_shapes()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var result = Check("keys");
        output.WriteLine(result.ToString());
        Assert.Empty(result.GetProperty("missing").EnumerateArray());
        Assert.Empty(result.GetProperty("extra").EnumerateArray());
        Assert.Empty(result.GetProperty("shape").EnumerateArray());
        Assert.Equal(1016, result.GetProperty("reference_keys").GetInt32()); // the official DPIQA state_dict at SD1.5 size
        Assert.Equal(865, result.GetProperty("ours").GetInt32());
        Assert.True(result.GetProperty("unused_dropped_by_prefix").GetBoolean());
        Assert.InRange(result.GetProperty("parameters").GetInt64(), 1_000_000_000, 1_030_000_000);
    }

    [SkippableFact]
    public void A_checkpoint_of_other_widths_is_named_in_one_line_with_exit_2()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        // The small checkpoint against the default SD1.5 widths (no --config).
        var run = Python.Run([RepoPaths.Of("tools/export/export.py"), "teacher", "--checkpoint", Path.Combine(fixture.Folder, "koniq_model_plcc_best.pth"),
            "--class-embeddings", Path.Combine(fixture.Folder, "small_embeddings.pth"), "--out", _dir.Path]);
        output.WriteLine(run.Error);
        Assert.Equal(2, run.Code);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("does not match the DP-IQA teacher", line);
        Assert.Contains("of another shape (e.g. ", line);
        Assert.Contains("--config-from", line);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "dpiqa-teacher")) && Directory.EnumerateFiles(Path.Combine(_dir.Path, "dpiqa-teacher")).Any());
    }

    [SkippableFact]
    public void The_export_is_one_graph_and_one_data_file_with_the_official_score_range()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var files = Directory.GetFiles(fixture.ExportFolder).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new List<string> { $"{TeacherParityFixture.Model}.json", $"{TeacherParityFixture.Model}.onnx", $"{TeacherParityFixture.Model}.onnx.data" }, files);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.ExportFolder, $"{TeacherParityFixture.Model}.json")));
        var m = manifest.RootElement;
        Assert.Equal(new[] { 0.0, 1.0 }, m.GetProperty("score_range").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.Equal("higher-is-better", m.GetProperty("direction").GetString());
        Assert.Contains("MEAN", m.GetProperty("description").GetString());
        Assert.Equal(new[] { -1, 3, 512, 512 }, m.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        Assert.True(m.GetProperty("external_data").TryGetProperty($"{TeacherParityFixture.Model}.onnx.data", out _));
    }

    [SkippableFact]
    public void Onnx_in_csharp_matches_pytorch_on_the_same_tensors_within_1e_4()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        using var session = new InferenceSession(Path.Combine(fixture.ExportFolder, $"{TeacherParityFixture.Model}.onnx"));
        var npy = File.ReadAllBytes(Path.Combine(fixture.Folder, "tensors.npy"));
        int headerLength = BitConverter.ToUInt16(npy, 8);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(npy.AsSpan(10 + headerLength)).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(data, [2, 3, 512, 512]); // batch 2: the batch axis is dynamic
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["image"], [input], ["score"]);
        var ours = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var torch = fixture.Reference.GetProperty("tensor_scores").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(2, ours.Length);
        var maxDiff = ours.Zip(torch, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"ORT {string.Join(", ", ours)} vs PyTorch {string.Join(", ", torch)}: max |diff| {maxDiff:E2}");
        Assert.True(maxDiff <= 1e-4, $"max |diff| {maxDiff} > 1e-4");
        Assert.NotEqual(torch[0], torch[1], 3); // the two inputs score differently: the model is not constant
    }

    private async Task<string> Import()
    {
        var catalog = Path.Combine(_dir.Path, "catalog");
        var (code, stdout, err) = await DpiqaProcess.Run(_dir.Path, ["models", "import", fixture.ExportFolder, "--models-dir", catalog]);
        output.WriteLine($"dpiqa models import -> {code}\n{stdout}{string.Join('\n', err)}");
        Assert.Equal(0, code);
        return catalog;
    }

    private async Task<IReadOnlyList<ImageResult>> Score(string catalog, string model, string name, double? rejectBelow = null, CascadeRule? cascade = null)
    {
        var outDir = Path.Combine(_dir.Path, name);
        Assert.Equal(0, await ScoreCommand.Run(ScoreCommand.LocalJob(TeacherParityFixture.Photos(), outDir, model, ResultFormat.Csv, 4) with { RejectBelow = rejectBelow, Cascade = cascade }, [new("Models:Path", catalog)], true, false, CancellationToken.None));
        return await ResultFiles.Decode(File.ReadAllBytes(JobLayout.MergedResults(outDir, ResultFormat.Csv)), ResultFormat.Csv);
    }

    [SkippableFact]
    public async Task Imported_with_dpiqa_models_import_it_scores_like_pytorch_alone_and_as_a_cascade_teacher()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var catalog = await Import();
        var teacher = await Score(catalog, TeacherParityFixture.Model, "teacher");
        var expected = fixture.Reference.GetProperty("images").EnumerateObject().ToDictionary(p => Path.GetFileName(p.Name), p => p.Value.GetDouble());
        Assert.Equal(TeacherParityFixture.Photos().Length, expected.Count);
        var maxDiff = 0.0;
        foreach (var r in teacher)
        {
            Assert.Equal(ImageResult.Ok, r.Status);
            Assert.Equal(TeacherParityFixture.Model, r.Model);
            // The C# decode + resize is DP-IQA's preprocessing to within ~1e-3 per score (the student's parity test).
            maxDiff = Math.Max(maxDiff, Math.Abs(r.Score!.Value - expected[r.Path]));
        }
        output.WriteLine($"{teacher.Count} photos: max |dpiqa - PyTorch| {maxDiff:E2}");
        Assert.True(maxDiff <= 2e-3, $"max |score diff| {maxDiff} > 2e-3");

        // The cascade: a tiny student (mean pixel, the same 0..1 range) with the small teacher rescoring a band.
        TinyModels.Add(catalog, "student", 0f, 1f, [0, 1]);
        var student = (await Score(catalog, "student", "student")).ToDictionary(r => r.Path, r => (double)r.Score!.Value);
        var (threshold, distance) = AroundTheMedian(student.Values);
        // The band's edge falls midway between two images' distances from the threshold (the widest such gap that
        // leaves at least two images on each side), never on an image: the cascade compares float scores with double
        // bounds, so an image exactly on the edge could land either side.
        int inside = Enumerable.Range(2, distance.Length - 3).MaxBy(k => distance[k] - distance[k - 1]);
        double band = (distance[inside - 1] + distance[inside]) / 2;
        var cascade = await Score(catalog, "student", "cascade", threshold, new CascadeRule { Teacher = TeacherParityFixture.Model, Band = band });
        var teacherScores = teacher.ToDictionary(r => r.Path, r => (double)r.Score!.Value);
        int rescored = 0;
        foreach (var r in cascade)
        {
            var s = student[r.Path];
            Assert.Equal(s, r.Score!.Value, 6);
            bool inBand = s >= threshold - band && s <= threshold + band;
            Assert.Equal(inBand, r.TeacherScore is not null);
            if (r.TeacherScore is { } t)
            {
                Assert.Equal(teacherScores[r.Path], t, 5); // the real teacher graph's score, as when it scores alone
                rescored++;
            }
        }
        output.WriteLine($"cascade: threshold {threshold:F4}, band {band:F4}, {rescored} of {cascade.Count} rescored");
        Assert.Equal(inside, rescored); // the images nearest the threshold, and only those
    }

    [SkippableFact]
    public async Task As_a_cluster_job_the_teacher_rescores_the_band_around_the_threshold()
    {
        Skip.If(fixture.SkipReason is not null, fixture.SkipReason);
        var catalog = await Import();
        TinyModels.Add(catalog, "student", 0f, 1f, [0, 1]);
        var student = (await Score(catalog, "student", "student")).ToDictionary(r => r.Path, r => (double)r.Score!.Value);
        var (threshold, distance) = AroundTheMedian(student.Values);
        double band = (distance[1] + distance[2]) / 2; // the two images nearest the threshold, midway to the third
        var expected = fixture.Reference.GetProperty("images").EnumerateObject().ToDictionary(p => Path.GetFileName(p.Name), p => p.Value.GetDouble());

        // A cluster job: a client submits to the job grain, a silo's scoring workers lease the shards (one image each).
        var cluster = await Jobs.OneSiloCluster.Start<Jobs.MemoryJobStorage>(new Dictionary<string, string>
        {
            ["Scoring:Enabled"] = "true", ["Scoring:PollIntervalMs"] = "100", ["Models:Path"] = catalog,
            ["Storage:LocalRoots:0"] = RepoPaths.Photos, ["Storage:LocalRoots:1"] = _dir.Path, // local folders a cluster's silos may use
        });
        try
        {
            var job = cluster.Client.GetGrain<IJobGrain>("teacher-cascade");
            var status = await job.Start(ScoreCommand.LocalJob(TeacherParityFixture.Photos(), Path.Combine(_dir.Path, "cluster"), "student", ResultFormat.Csv, 1) with
            {
                RejectBelow = threshold,
                Cascade = new CascadeRule { Teacher = TeacherParityFixture.Model, Band = band },
            });
            for (var deadline = DateTime.UtcNow.AddMinutes(10); !status.IsFinished && DateTime.UtcNow < deadline; status = await job.GetStatus()) await Task.Delay(200); // a guard against a hang
            Assert.Equal(JobState.Completed, status.State);
            var summary = await job.WaitForOutputs();
            var rows = await JobLayout.ReadResults(new DpIqa.Storage.ObjectStore(Options.Create(new DpIqa.Storage.StorageOptions())), await job.GetResultFiles(), ResultFormat.Csv);
            Assert.Equal(student.Count, rows.Count);
            foreach (var r in rows)
            {
                var name = Path.GetFileName(r.Path);
                bool inBand = Math.Abs(student[name] - threshold) <= band;
                Assert.Equal(inBand, r.TeacherScore is not null);
                if (r.TeacherScore is { } t) Assert.True(Math.Abs(t - expected[name]) <= 2e-3, $"{name}: teacher {t} vs PyTorch {expected[name]}");
            }
            Assert.Equal(2L, summary.Cascade!.Rescored);
            output.WriteLine($"cluster cascade: threshold {threshold:F4}, band {band:F4}, {summary.Cascade.Rescored} of {rows.Count} rescored by the teacher");
        }
        finally
        {
            await Jobs.OneSiloCluster.Stop(cluster);
        }
    }

    /// <summary>A reject threshold midway between the two middle scores, and every score's distance from it, smallest first.</summary>
    private static (double Threshold, double[] Distances) AroundTheMedian(IEnumerable<double> scores)
    {
        var sorted = scores.Order().ToArray();
        double threshold = (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return (threshold, sorted.Select(s => Math.Abs(s - threshold)).Order().ToArray());
    }
}
