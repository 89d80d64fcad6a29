using System.Text.Json;
using System.Text.RegularExpressions;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Models;

/// <summary>Configuration section <c>Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>Folder holding imported models: a folder <c>NAME/</c> per model with <c>NAME.onnx</c>, its external-data
    /// files and its manifest <c>NAME.json</c> (a <c>NAME.json</c> beside <c>NAME.onnx</c> at the top, the earlier layout, is read too).</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "models");

    /// <summary>Model used when a job names none.</summary>
    public string Default { get; set; } = ProxyModel.Name;

    /// <summary>
    /// Where the catalog lives: empty for the local folder <see cref="Path"/>, or <c>blob:CONTAINER[/PREFIX]</c> for a
    /// catalog in the blob storage of <c>Storage:*</c> that every silo reads (<c>dpiqa models import --to-cluster</c>
    /// fills it); silos then download a model on first use into <see cref="CachePath"/>.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>Local copies of models from a blob catalog (<see cref="Source"/>), kept across restarts and checked
    /// against the catalog's sha256 before every load.</summary>
    public string CachePath { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "model-cache");
}

/// <summary>A model ready to load: its manifest and where its verified bytes come from.</summary>
internal sealed class ResolvedModel(ModelManifest manifest, string? onnxPath, Func<byte[]>? builtIn, Action? fetch = null)
{
    public ModelManifest Manifest { get; } = manifest;

    /// <summary>The ONNX file of an imported model; null for the built-in one.</summary>
    public string? OnnxPath { get; } = onnxPath;

    /// <summary>Checks the ONNX file (and any external-data files) against the manifest's sha256; throws with a message on a mismatch.</summary>
    public void Verify()
    {
        if (OnnxPath is null) return;
        fetch?.Invoke(); // a model from a blob catalog: into the local cache first
        CheckHash(OnnxPath, Manifest.Sha256);
        foreach (var (file, sha) in Manifest.ExternalData ?? [])
            CheckHash(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(OnnxPath)!, file), sha);
    }

    private void CheckHash(string path, string expected)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"model '{Manifest.Name}': file {path} is missing (re-import the model)");
        string actual = Hashes.Sha256OfFile(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"model '{Manifest.Name}': sha256 of {path} is {actual} but the manifest says {expected}; refusing to load it (re-import the model)");
    }

    /// <summary>The verified ONNX bytes.</summary>
    public byte[] Load()
    {
        if (builtIn is not null) return builtIn();
        Verify();
        return File.ReadAllBytes(OnnxPath!);
    }

    /// <summary>An ONNX Runtime session over the verified model (from the file, so external data next to it is found).</summary>
    public InferenceSession CreateSession(SessionOptions options)
    {
        if (builtIn is not null) return new InferenceSession(builtIn(), options);
        Verify();
        return new InferenceSession(OnnxPath!, options);
    }
}

/// <summary>
/// The models a silo can serve: the built-in proxy plus every manifest in <see cref="ModelOptions.Path"/>, or in
/// the blob catalog of <see cref="ModelOptions.Source"/> (see <see cref="BlobModelCatalog"/>).
/// Loading checks the files' sha256 against the manifest and refuses a mismatch.
/// </summary>
internal sealed partial class ModelCatalog(IOptions<ModelOptions> options, IOptions<StorageOptions>? storage = null, ILogger<ModelCatalog>? logger = null)
{
    private static readonly Lazy<byte[]> ProxyBytes = new(ProxyModel.Build);

    // Made on first use, so a misconfigured Models:Source is reported where a model is asked for, in one line.
    private readonly Lazy<BlobModelCatalog?> _blob = new(() => BlobModelCatalog.From(options.Value, storage?.Value, logger));

    public string DefaultModel => options.Value.Default;
    public string Folder => options.Value.Path;

    /// <summary>The blob catalog of <see cref="ModelOptions.Source"/>; null when the catalog is the local folder.</summary>
    public BlobModelCatalog? Blob => _blob.Value;

    /// <summary>Where the catalog lives, for messages: the folder or <c>blob:CONTAINER/PREFIX</c>.</summary>
    public string Location => Blob?.Location ?? Folder;

    public static ModelManifest ProxyManifest => new()
    {
        Name = ProxyModel.Name,
        Version = ProxyModel.Version,
        Description = ProxyModel.Description,
        File = "(built in)",
        Sha256 = Hashes.Sha256(ProxyBytes.Value),
        ScoreRange = [0, 1], // a product of four factors in (0, 1)
    };

    public IReadOnlyList<ModelManifest> List()
    {
        var list = new List<ModelManifest> { ProxyManifest };
        if (Blob is { } blob)
        {
            list.AddRange(blob.List().Where(m => m.Name != ProxyModel.Name));
            return list;
        }
        if (Directory.Exists(Folder))
        {
            // NAME/NAME.json (one folder per model), then NAME.json at the top (the earlier layout).
            var manifests = Directory.EnumerateDirectories(Folder).Select(d => Path.Combine(d, Path.GetFileName(d) + ".json")).Where(File.Exists)
                .Concat(Directory.EnumerateFiles(Folder, "*.json"));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in manifests)
            {
                var manifest = ReadManifest(file);
                if (manifest is not null && manifest.Name != ProxyModel.Name && seen.Add(manifest.Name)) list.Add(manifest);
            }
        }
        list.Sort(1, list.Count - 1, Comparer<ModelManifest>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name)));
        return list;
    }

    /// <summary>The model called <paramref name="name"/>, or an <see cref="ArgumentException"/> naming the ones there are.</summary>
    public ResolvedModel Resolve(string name)
    {
        if (name == ProxyModel.Name) return new ResolvedModel(ProxyManifest, null, () => ProxyBytes.Value);
        if (Blob is { } blob)
        {
            return blob.Resolve(name) ?? throw new ArgumentException(
                $"unknown model '{name}'; available: {string.Join(", ", List().Select(m => m.Name))} (the catalog is {blob.Location}; add one with 'dpiqa models import FOLDER --to-cluster')");
        }
        var manifestPath = LocalManifestPath(name);
        var manifest = manifestPath is not null ? ReadManifest(manifestPath) : null;
        if (manifest is null || manifestPath is null)
            throw new ArgumentException($"unknown model '{name}'; available: {string.Join(", ", List().Select(m => m.Name))} (models live in {Folder}; add one with 'dpiqa models import')");
        return new ResolvedModel(manifest, Path.Combine(Path.GetDirectoryName(manifestPath)!, manifest.File), null);
    }

    /// <summary>
    /// The manifest of <paramref name="name"/> without fetching the model (from a blob catalog, as read in the last
    /// 30 s), or an <see cref="ArgumentException"/> as from <see cref="Resolve"/>.
    /// </summary>
    public ModelManifest Manifest(string name) =>
        name != ProxyModel.Name && Blob?.Manifest(name) is { } manifest ? manifest : Resolve(name).Manifest;

    /// <summary>NAME/NAME.json, else NAME.json at the top of the folder (the earlier layout), else null.</summary>
    private string? LocalManifestPath(string name)
    {
        if (!NamePattern().IsMatch(name)) return null; // never a path outside the folder
        var inFolder = Path.Combine(Folder, name, name + ".json");
        if (File.Exists(inFolder)) return inFolder;
        var flat = Path.Combine(Folder, name + ".json");
        return File.Exists(flat) ? flat : null;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    internal static partial Regex NamePattern();

    /// <summary>Imports an ONNX file under <paramref name="name"/> into the local folder (see <see cref="Import(ModelImport)"/>).</summary>
    public ModelManifest Import(string onnxPath, string name, string? manifestPath, string? version) =>
        Import(new ModelImport(onnxPath) { Name = name, ManifestPath = manifestPath, Version = version });

    /// <summary>
    /// Copies a model (an export folder <c>OUT/NAME</c>, or an ONNX file) into the local folder <c>Models:Path/NAME/</c>
    /// with the external-data files its manifest lists, and writes its manifest with the sha256 of what was copied.
    /// </summary>
    public ModelManifest Import(ModelImport request)
    {
        var (manifest, onnxPath) = Prepare(request);
        var target = Path.Combine(Folder, manifest.Name);
        Directory.CreateDirectory(target);
        CopyUnlessThere(onnxPath, Path.Combine(target, manifest.File), manifest.Sha256);
        foreach (var (file, sha) in manifest.ExternalData ?? [])
            CopyUnlessThere(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!, file), Path.Combine(target, file), sha);
        File.WriteAllText(Path.Combine(target, manifest.Name + ".json"), JsonSerializer.Serialize(manifest, ManifestJson));
        // An import in the earlier flat layout would shadow nothing now, but would be listed twice: drop its manifest.
        var flat = Path.Combine(Folder, manifest.Name + ".json");
        if (File.Exists(flat)) File.Delete(flat);
        return manifest;
    }

    /// <summary>
    /// Uploads a model (an export folder or an ONNX file, checked as for <see cref="Import(ModelImport)"/>) into the
    /// blob catalog of <c>Models:Source</c>, where every silo finds it.
    /// </summary>
    public ModelManifest ImportToCluster(ModelImport request)
    {
        var blob = Blob ?? throw new ArgumentException("--to-cluster needs the cluster's model catalog: set Models:Source=blob:CONTAINER[/PREFIX] (or --source) and Storage:ConnectionString (or Storage:BlobServiceUri)");
        var (manifest, onnxPath) = Prepare(request);
        blob.Upload(manifest, onnxPath);
        return manifest;
    }

    internal static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };

    /// <summary>
    /// The manifest an import records and the ONNX file it comes from. A folder holds <c>FOLDER.onnx</c> (or a single
    /// <c>*.onnx</c>) and, when there, the exporter's manifest beside it. Without a manifest the contract is read from
    /// the graph: one input, float32 [N,3,512,512] (DP-IQA's ToTensor layout) or uint8 [N,512,512,3], and its first output.
    /// </summary>
    private static (ModelManifest Manifest, string OnnxPath) Prepare(ModelImport request)
    {
        var (onnxPath, manifestPath) = (request.Source, request.ManifestPath);
        if (Directory.Exists(request.Source))
        {
            onnxPath = OnnxIn(request.Source);
            var beside = Path.ChangeExtension(onnxPath, ".json");
            if (manifestPath is null && File.Exists(beside)) manifestPath = beside;
        }
        if (!File.Exists(onnxPath)) throw new ArgumentException($"{onnxPath} does not exist");
        ModelManifest? given = null;
        if (manifestPath is not null)
        {
            if (!File.Exists(manifestPath)) throw new ArgumentException($"manifest {manifestPath} does not exist");
            given = ReadManifest(manifestPath) ?? throw new ArgumentException($"{manifestPath} is not a model manifest (JSON with name, version, sha256, ...)");
        }
        var name = request.Name ?? (given is { Name.Length: > 0 } ? given.Name : Path.GetFileNameWithoutExtension(onnxPath));
        if (!NamePattern().IsMatch(name)) throw new ArgumentException($"model name '{name}' is not allowed: use lower-case letters, digits, '.', '_' and '-'");
        if (name == ProxyModel.Name) throw new ArgumentException($"'{name}' is the built-in model's name; pick another");
        var inferred = Inspect(onnxPath);
        var manifest = (given ?? inferred) with
        {
            Name = name,
            Version = request.Version ?? given?.Version ?? "1",
            File = name + ".onnx",
            Sha256 = Hashes.Sha256OfFile(onnxPath),
        };
        if (request.ScoreRange is not null) manifest = manifest with { ScoreRange = request.ScoreRange };
        if (request.Direction is not null) manifest = manifest with { Direction = request.Direction };
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

    /// <summary>
    /// Copies a model file into the catalog unless the catalog already holds these bytes there: importing a file
    /// that already lives in the catalog folder (an export written straight into it, or a second import) is a
    /// re-registration. Copying a file onto itself would fail, and the hash also catches the same file reached
    /// through another path (a symlinked folder).
    /// </summary>
    private static void CopyUnlessThere(string source, string target, string sha256)
    {
        if (!File.Exists(source)) throw new ArgumentException($"{source} does not exist (the manifest lists it beside the model)");
        if (Path.GetFullPath(source) == Path.GetFullPath(target)) return;
        if (File.Exists(target) && string.Equals(Hashes.Sha256OfFile(target), sha256, StringComparison.OrdinalIgnoreCase)) return;
        File.Copy(source, target, overwrite: true);
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

    /// <summary>Deletes an imported model's manifest and files.</summary>
    public void Remove(string name)
    {
        if (name == ProxyModel.Name) throw new ArgumentException($"'{name}' is built in and cannot be removed");
        if (Blob is { } blob)
        {
            if (!blob.Remove(name)) throw new ArgumentException($"unknown model '{name}' in {blob.Location}");
            return;
        }
        var resolved = Resolve(name);
        var folder = Path.GetDirectoryName(resolved.OnnxPath!)!;
        foreach (var file in (resolved.Manifest.ExternalData?.Keys ?? Enumerable.Empty<string>()).Append(resolved.Manifest.File))
            File.Delete(Path.Combine(folder, file));
        File.Delete(Path.Combine(folder, name + ".json"));
        if (Path.GetFullPath(folder) != Path.GetFullPath(Folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
    }

    internal static ModelManifest? ReadManifest(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            return null;
        }
    }

}

/// <summary>What <c>dpiqa models import</c> was given: an export folder or ONNX file, and what to record over its manifest.</summary>
internal sealed record ModelImport(string Source)
{
    public string? Name { get; init; }
    public string? ManifestPath { get; init; }
    public string? Version { get; init; }
    /// <summary>[lower, upper] to record, overriding the manifest's.</summary>
    public double[]? ScoreRange { get; init; }
    public string? Direction { get; init; }
}
