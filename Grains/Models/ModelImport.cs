using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Models;

/// <summary>What <c>dpiqa models import</c> was given: an export folder or ONNX file, and what to record over its manifest.</summary>
internal sealed partial record ModelImport(string Source)
{
    public string? Name { get; init; }
    public string? ManifestPath { get; init; }
    public string? Version { get; init; }
    /// <summary>[lower, upper] to record, overriding the manifest's.</summary>
    public double[]? ScoreRange { get; init; }
    public string? Direction { get; init; }
    /// <summary>Licence to record, overriding the manifest's.</summary>
    public string? Licence { get; init; }

    /// <summary>
    /// DP-IQA's official checkpoint names (<c>koniq_student_model_plcc_best.pth</c>, <c>spaq_model_srcc_best</c>, ...):
    /// a model named so, or whose manifest says it was exported from one, carries their licence, CC BY-NC-SA 4.0.
    /// </summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(^|[^a-z])(koniq|clive|livec|livefb|spaq)_(student_)?model_(plcc_best|srcc_best|pack)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex OfficialName();

    /// <summary>Whether <paramref name="text"/> (a file name or a manifest's description) names an official DP-IQA checkpoint.</summary>
    internal static bool NamesOfficialDpIqa(string? text) => text is not null && OfficialName().IsMatch(text);

    /// <summary>
    /// The manifest an import records and the ONNX file it comes from. A folder holds <c>FOLDER.onnx</c> (or a single
    /// <c>*.onnx</c>) and, when there, the exporter's manifest beside it. Without a manifest the contract is read from
    /// the graph: one input, float32 [N,3,512,512] (DP-IQA's ToTensor layout) or uint8 [N,512,512,3], and its first output.
    /// </summary>
    public (ModelManifest Manifest, string OnnxPath) Prepare()
    {
        if (string.IsNullOrWhiteSpace(Source))
            throw new ArgumentException("no model given: name the export folder OUT/NAME that tools/export/export.py wrote, or an .onnx file");
        var (onnxPath, manifestPath) = (Source, ManifestPath);
        if (Directory.Exists(Source))
        {
            onnxPath = OnnxIn(Source);
            var beside = Path.ChangeExtension(onnxPath, ".json");
            if (manifestPath is null && File.Exists(beside)) manifestPath = beside;
        }
        if (!File.Exists(onnxPath)) throw new ArgumentException($"'{onnxPath}' does not exist: name the export folder OUT/NAME that tools/export/export.py wrote, or an .onnx file");
        ModelManifest? given = null;
        if (manifestPath is not null)
        {
            if (!File.Exists(manifestPath)) throw new ArgumentException($"manifest {manifestPath} does not exist");
            given = ModelCatalog.ReadManifest(manifestPath) ?? throw new ArgumentException($"{manifestPath} is not a model manifest (JSON with name, version, sha256, ...)");
        }
        var name = Name ?? (given is { Name.Length: > 0 } ? given.Name : Path.GetFileNameWithoutExtension(onnxPath));
        if (!ModelCatalog.NamePattern().IsMatch(name)) throw new ArgumentException($"model name '{name}' is not allowed: use lower-case letters, digits, '.', '_' and '-'");
        if (ModelCatalog.IsBuiltIn(name)) throw new ArgumentException($"'{name}' is a built-in model's name; pick another");
        // The graph is opened in ONNX Runtime to read the contract when there is no manifest, and to check that it
        // loads. An exporter's manifest of a model with external data (a teacher: 4 GB) already says the contract,
        // and opening it would load every weight (the bench measured 4.2 GB of RSS and minutes on 2 cores) just to
        // import files; that model is first loaded where it runs, or by 'dpiqa models verify'.
        var inferred = given is { ExternalData.Count: > 0 } ? null : Inspect(onnxPath);
        var manifest = (given ?? inferred!) with
        {
            Name = name,
            Version = this.Version ?? given?.Version ?? "1",
            File = name + ".onnx",
            Sha256 = Hashes.Sha256OfFile(onnxPath),
        };
        if (this.ScoreRange is not null) manifest = manifest with { ScoreRange = this.ScoreRange };
        if (this.Direction is not null) manifest = manifest with { Direction = this.Direction };
        if (this.Licence is not null) manifest = manifest with { Licence = this.Licence };
        else if (string.IsNullOrWhiteSpace(manifest.Licence)
            && (NamesOfficialDpIqa(Path.GetFileName(Path.TrimEndingDirectorySeparator(Source))) || NamesOfficialDpIqa(Path.GetFileName(onnxPath)) || NamesOfficialDpIqa(given?.Description)))
            manifest = manifest with { Licence = ModelManifest.DpIqaLicence };
        if (manifest.ScoreRange is not null && manifest.DeclaredRange() is null)
            throw new ArgumentException($"score range [{string.Join(", ", manifest.ScoreRange)}] must be [lower, upper] with lower < upper, or left out when the range is unknown");
        if (manifest.Direction is not (ModelManifest.HigherIsBetter or ModelManifest.LowerIsBetter))
            throw new ArgumentException($"direction '{manifest.Direction}' must be {ModelManifest.HigherIsBetter} or {ModelManifest.LowerIsBetter}");
        if (given is not null && given.Sha256.Length > 0 && !string.Equals(given.Sha256, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{onnxPath} has sha256 {manifest.Sha256} but {manifestPath} says {given.Sha256}: not the file the manifest describes");
        foreach (var file in (manifest.ExternalData ?? []).Keys)
        {
            if (file.Contains('/') || file.Contains('\\') || file is "." or ".." || file == manifest.File || file == name + ".json")
                throw new ArgumentException($"{manifestPath}: external-data file '{file}' must be a plain file name beside the model, other than the model and its manifest");
        }
        return (manifest, onnxPath);
    }

    /// <summary>The model in an export folder: FOLDER/FOLDER.onnx, else its only *.onnx.</summary>
    private static string OnnxIn(string folder)
    {
        var named = Path.Combine(folder, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))) + ".onnx");
        if (File.Exists(named)) return named;
        var all = Directory.GetFiles(folder, "*.onnx");
        return all.Length == 1 ? all[0] : throw new ArgumentException(all.Length == 0
            ? $"{folder} holds no .onnx file (give the folder export.py wrote, OUT/NAME, or the .onnx file)"
            : $"{folder} holds {all.Length} .onnx files and none is named after the folder; give the .onnx file to import");
    }

    /// <summary>Reads the contract from the graph; refuses graphs DP-IQA preprocessing cannot feed.</summary>
    private static ModelManifest Inspect(string onnxPath)
    {
        using var session = OpenForInspection(onnxPath);
        if (session.InputMetadata.Count != 1)
            throw new ArgumentException($"{onnxPath} has {session.InputMetadata.Count} inputs; a scoring model takes exactly one image tensor");
        var (inputName, input) = session.InputMetadata.First();
        var (outputName, _) = session.OutputMetadata.First();
        var dims = input.Dimensions;
        bool floatNchw = input.ElementType == typeof(float) && dims.Length == 4 && dims[1] == 3 && dims[2] == 512 && dims[3] == 512;
        bool uint8Nhwc = input.ElementType == typeof(byte) && dims.Length == 4 && dims[1] == 512 && dims[2] == 512 && dims[3] == 3;
        if (!floatNchw && !uint8Nhwc)
            throw new ArgumentException($"{onnxPath}: input '{inputName}' is {input.ElementType.Name} [{string.Join(",", dims)}]; expected float32 [N,3,512,512] or uint8 [N,512,512,3]");
        return new ModelManifest
        {
            Name = "",
            Version = "1",
            File = "",
            Sha256 = "",
            Description = $"imported from {Path.GetFileName(onnxPath)}",
            Input = inputName,
            InputShape = uint8Nhwc ? [-1, 512, 512, 3] : [-1, 3, 512, 512],
            InputType = uint8Nhwc ? "uint8" : "float32",
            Preprocessing = uint8Nhwc ? ModelManifest.DpIqaPreprocessingUint8 : ModelManifest.DpIqaPreprocessing,
            Output = outputName,
        };
    }

    private static InferenceSession OpenForInspection(string onnxPath)
    {
        try
        {
            return new InferenceSession(onnxPath);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"{onnxPath} is not an ONNX model ONNX Runtime can load: {e.Message.Split('\n')[0]}", e);
        }
    }
}
