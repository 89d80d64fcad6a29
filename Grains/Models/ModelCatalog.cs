using System.Text.Json;
using System.Text.RegularExpressions;
using DpIqa.Models.Brisque;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DpIqa.Models;

/// <summary>
/// The models a silo can serve: the built-in ones (<see cref="BrisqueModel"/>, the default, and <see cref="ProxyModel"/>) plus every manifest in <see cref="ModelOptions.Path"/>, or in
/// the blob catalog of <see cref="ModelOptions.Source"/> (see <see cref="BlobModelCatalog"/>).
/// Loading checks the files' sha256 against the manifest and refuses a mismatch.
/// </summary>
internal sealed partial class ModelCatalog(IOptions<ModelOptions> options, IOptions<StorageOptions>? storage = null, ILogger<ModelCatalog>? logger = null)
{
    private static readonly Lazy<byte[]> ProxyBytes = new(ProxyModel.Build);

    // Made on first use, so a misconfigured Models:Source is reported where a model is asked for, in one line.
    private readonly Lazy<BlobModelCatalog?> _blob = new(() => BlobModelCatalog.From(options.Value, storage?.Value, logger));

    public string DefaultModel => options.Value.Default;

    /// <summary>The inference settings <c>Models:NAME:*</c> gives model <paramref name="name"/>, or null.</summary>
    public ModelSettings? SettingsOf(string name) => options.Value.SettingsOf(name);
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
        Licence = ProxyModel.Licence,
    };

    /// <summary>The built-in BRISQUE: no ONNX graph; the scorer decodes the image at full size and calls <see cref="BrisqueModel"/>.</summary>
    public static ModelManifest BrisqueManifest => new()
    {
        Name = BrisqueModel.Name,
        Version = BrisqueModel.Version,
        Description = BrisqueModel.Description,
        File = "(built in)",
        Sha256 = BrisqueModel.Shared.Sha256,
        Input = "",
        InputShape = [],
        InputType = "uint8",
        Preprocessing = ModelManifest.NativeGrayPreprocessing,
        Output = "score",
        ScoreRange = [0, 100], // OpenCV clamps the SVR's output to [0, 100]
        Direction = ModelManifest.LowerIsBetter,
        Licence = BrisqueModel.Licence,
    };

    /// <summary>Whether <paramref name="name"/> is a built-in model (which cannot be imported over or removed).</summary>
    public static bool IsBuiltIn(string name) => name is BrisqueModel.Name or ProxyModel.Name;

    private static List<ModelManifest> BuiltIns() => [BrisqueManifest, ProxyManifest];

    public IReadOnlyList<ModelManifest> List()
    {
        var list = BuiltIns();
        int builtIn = list.Count;
        if (Blob is { } blob)
        {
            list.AddRange(blob.List().Where(m => !IsBuiltIn(m.Name)));
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
                if (manifest is not null && !IsBuiltIn(manifest.Name) && seen.Add(manifest.Name)) list.Add(manifest);
            }
        }
        list.Sort(builtIn, list.Count - builtIn, Comparer<ModelManifest>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name)));
        return list;
    }

    /// <summary>The model called <paramref name="name"/>, or an <see cref="ArgumentException"/> naming the ones there are.</summary>
    public ResolvedModel Resolve(string name)
    {
        if (name == ProxyModel.Name) return new ResolvedModel(ProxyManifest, null, () => ProxyBytes.Value);
        if (name == BrisqueModel.Name) return new ResolvedModel(BrisqueManifest, null, null);
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
        !IsBuiltIn(name) && Blob?.Manifest(name) is { } manifest ? manifest : Resolve(name).Manifest;

    /// <summary>The declared score range of <paramref name="name"/> (a summary's histogram range); null if it declares none or is not in the catalog (any more).</summary>
    public (double Lower, double Upper)? DeclaredRange(string name)
    {
        try
        {
            return Manifest(name).DeclaredRange();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

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

    internal static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };

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
