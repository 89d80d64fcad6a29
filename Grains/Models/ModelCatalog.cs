using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace DpIqa.Models;

/// <summary>Configuration section <c>Models</c>.</summary>
public sealed class ModelOptions
{
    public const string Section = "Models";

    /// <summary>Folder holding imported models: one <c>NAME.json</c> manifest beside each ONNX file.</summary>
    public string Path { get; set; } = System.IO.Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dpiqa", "models");

    /// <summary>Model used when a job names none.</summary>
    public string Default { get; set; } = ProxyModel.Name;
}

/// <summary>A model ready to load: its manifest and its verified ONNX bytes.</summary>
internal sealed record ResolvedModel(ModelManifest Manifest, bool BuiltIn, Func<byte[]> Load);

/// <summary>
/// The models a silo can serve: the built-in proxy plus every manifest in <see cref="ModelOptions.Path"/>.
/// Loading checks the ONNX file's sha256 against the manifest and refuses a mismatch.
/// </summary>
internal sealed class ModelCatalog(IOptions<ModelOptions> options)
{
    private static readonly Lazy<byte[]> ProxyBytes = new(ProxyModel.Build);

    public string DefaultModel => options.Value.Default;

    public static ModelManifest ProxyManifest => new()
    {
        Name = ProxyModel.Name,
        Version = ProxyModel.Version,
        Description = ProxyModel.Description,
        File = "(built in)",
        Sha256 = Sha256Hex(ProxyBytes.Value),
    };

    public IReadOnlyList<ModelManifest> List()
    {
        var list = new List<ModelManifest> { ProxyManifest };
        if (Directory.Exists(options.Value.Path))
        {
            foreach (var file in Directory.EnumerateFiles(options.Value.Path, "*.json").Order(StringComparer.Ordinal))
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
        if (name == ProxyModel.Name) return new ResolvedModel(ProxyManifest, true, () => ProxyBytes.Value);
        var manifestPath = Path.Combine(options.Value.Path, name + ".json");
        var manifest = File.Exists(manifestPath) ? ReadManifest(manifestPath) : null;
        if (manifest is null)
            throw new ArgumentException($"unknown model '{name}'; available: {string.Join(", ", List().Select(m => m.Name))} (models live in {options.Value.Path})");
        var onnxPath = Path.Combine(options.Value.Path, manifest.File);
        return new ResolvedModel(manifest, false, () =>
        {
            if (!File.Exists(onnxPath)) throw new InvalidOperationException($"model '{name}': ONNX file {onnxPath} is missing");
            var bytes = File.ReadAllBytes(onnxPath);
            var hash = Sha256Hex(bytes);
            if (!string.Equals(hash, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"model '{name}': sha256 of {onnxPath} is {hash} but the manifest says {manifest.Sha256}; refusing to load it (re-import the model)");
            return bytes;
        });
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

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
