using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Models;

/// <summary>Configuration section <c>Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>Folder holding imported models: one <c>NAME.json</c> manifest beside each <c>NAME.onnx</c>.</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "models");

    /// <summary>Model used when a job names none.</summary>
    public string Default { get; set; } = ProxyModel.Name;
}

/// <summary>A model ready to load: its manifest and where its verified bytes come from.</summary>
internal sealed class ResolvedModel(ModelManifest manifest, string? onnxPath, Func<byte[]>? builtIn)
{
    public ModelManifest Manifest { get; } = manifest;

    /// <summary>The ONNX file of an imported model; null for the built-in one.</summary>
    public string? OnnxPath { get; } = onnxPath;

    /// <summary>Checks the ONNX file (and any external-data files) against the manifest's sha256; throws with a message on a mismatch.</summary>
    public void Verify()
    {
        if (OnnxPath is null) return;
        CheckHash(OnnxPath, Manifest.Sha256);
        foreach (var (file, sha) in Manifest.ExternalData ?? [])
            CheckHash(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(OnnxPath)!, file), sha);
    }

    private void CheckHash(string path, string expected)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"model '{Manifest.Name}': file {path} is missing (re-import the model)");
        string actual;
        using (var stream = File.OpenRead(path)) actual = Convert.ToHexStringLower(SHA256.HashData(stream));
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
/// The models a silo can serve: the built-in proxy plus every manifest in <see cref="ModelOptions.Path"/>.
/// Loading checks the files' sha256 against the manifest and refuses a mismatch.
/// </summary>
internal sealed partial class ModelCatalog(IOptions<ModelOptions> options)
{
    private static readonly Lazy<byte[]> ProxyBytes = new(ProxyModel.Build);

    public string DefaultModel => options.Value.Default;
    public string Folder => options.Value.Path;

    public static ModelManifest ProxyManifest => new()
    {
        Name = ProxyModel.Name,
        Version = ProxyModel.Version,
        Description = ProxyModel.Description,
        File = "(built in)",
        Sha256 = Sha256Hex(ProxyBytes.Value),
        ScoreRange = [0, 1], // a product of four factors in (0, 1)
    };

    public IReadOnlyList<ModelManifest> List()
    {
        var list = new List<ModelManifest> { ProxyManifest };
        if (Directory.Exists(Folder))
        {
            foreach (var file in Directory.EnumerateFiles(Folder, "*.json").Order(StringComparer.Ordinal))
            {
                var manifest = ReadManifest(file);
                if (manifest is not null && manifest.Name != ProxyModel.Name) list.Add(manifest);
            }
        }
        return list;
    }

    /// <summary>The model called <paramref name="name"/>, or an <see cref="ArgumentException"/> naming the ones there are.</summary>
    public ResolvedModel Resolve(string name)
    {
        if (name == ProxyModel.Name) return new ResolvedModel(ProxyManifest, null, () => ProxyBytes.Value);
        var manifestPath = Path.Combine(Folder, name + ".json");
        var manifest = File.Exists(manifestPath) ? ReadManifest(manifestPath) : null;
        if (manifest is null)
            throw new ArgumentException($"unknown model '{name}'; available: {string.Join(", ", List().Select(m => m.Name))} (models live in {Folder}; add one with 'dpiqa models import')");
        return new ResolvedModel(manifest, Path.Combine(Folder, manifest.File), null);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>
    /// Copies an ONNX file (and the external-data files its manifest lists) into the catalog and writes its manifest
    /// with the sha256 of what was copied. Without a manifest, the contract is read from the graph: one input,
    /// float32 [N,3,512,512] (DP-IQA's ToTensor layout) or uint8 [N,512,512,3], and its first output.
    /// </summary>
    public ModelManifest Import(string onnxPath, string name, string? manifestPath, string? version)
    {
        if (!NamePattern().IsMatch(name)) throw new ArgumentException($"model name '{name}' is not allowed: use lower-case letters, digits, '.', '_' and '-'");
        if (name == ProxyModel.Name) throw new ArgumentException($"'{name}' is the built-in model's name; pick another");
        if (!File.Exists(onnxPath)) throw new ArgumentException($"{onnxPath} does not exist");
        ModelManifest? given = null;
        if (manifestPath is not null)
        {
            if (!File.Exists(manifestPath)) throw new ArgumentException($"manifest {manifestPath} does not exist");
            given = ReadManifest(manifestPath) ?? throw new ArgumentException($"{manifestPath} is not a model manifest (JSON with name, version, sha256, ...)");
        }
        var inferred = Inspect(onnxPath);
        var manifest = (given ?? inferred) with
        {
            Name = name,
            Version = version ?? given?.Version ?? "1",
            File = name + ".onnx",
            Sha256 = Sha256Of(onnxPath),
        };
        if (manifest.ScoreRange is not null && manifest.DeclaredRange() is null)
            throw new ArgumentException($"{manifestPath}: score_range must be [lower, upper] with lower < upper, or left out when the range is unknown");
        if (given is not null && given.Sha256.Length > 0 && !string.Equals(given.Sha256, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{onnxPath} has sha256 {manifest.Sha256} but {manifestPath} says {given.Sha256}: not the file the manifest describes");
        Directory.CreateDirectory(Folder);
        CopyUnlessThere(onnxPath, Path.Combine(Folder, manifest.File), manifest.Sha256);
        foreach (var (file, sha) in manifest.ExternalData ?? [])
            CopyUnlessThere(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(onnxPath))!, file), Path.Combine(Folder, file), sha);
        File.WriteAllText(Path.Combine(Folder, name + ".json"), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
        return manifest;
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
        if (File.Exists(target) && string.Equals(Sha256Of(target), sha256, StringComparison.OrdinalIgnoreCase)) return;
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
        var resolved = Resolve(name);
        if (resolved.OnnxPath is null) throw new ArgumentException($"'{name}' is built in and cannot be removed");
        foreach (var file in (resolved.Manifest.ExternalData?.Keys ?? Enumerable.Empty<string>()).Append(resolved.Manifest.File))
            File.Delete(Path.Combine(Folder, file));
        File.Delete(Path.Combine(Folder, name + ".json"));
    }

    private static ModelManifest? ReadManifest(string path)
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

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
