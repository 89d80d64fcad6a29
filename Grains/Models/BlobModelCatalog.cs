using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DpIqa.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DpIqa.Models;

/// <summary>
/// A model catalog in blob storage (<c>Models:Source = blob:CONTAINER[/PREFIX]</c>), so that a silo on a new node
/// serves any model without a pre-filled volume. Layout: <c>PREFIX/NAME/NAME.json</c> (the manifest),
/// <c>PREFIX/NAME/NAME.onnx</c> and the external-data files the manifest lists. A silo downloads a model on first
/// use into <c>Models:CachePath/NAME/</c> (the local catalog's layout), checking each file's sha256 against the
/// manifest and refusing a mismatch; files already in the cache with the manifest's sha256 are used again, so a
/// restarted silo downloads nothing. The manifest is trusted: it is what <c>dpiqa models import --to-cluster</c> wrote.
/// </summary>
internal sealed partial class BlobModelCatalog
{
    public const string Scheme = "blob:";

    // One download at a time per cached model in this process; other processes use their own temporary names.
    private static readonly ConcurrentDictionary<string, object> CacheLocks = new(StringComparer.Ordinal);

    private readonly BlobContainerClient _container;
    private readonly string _prefix; // "" or "a/b/" (ends with '/')
    private readonly string _cachePath;
    private readonly ILogger _logger;

    // Manifests found in the last ManifestTtl, for Manifest() only: a job grain asks for its model's score range with
    // every summary. Loading (Resolve) always reads the manifest afresh, so a re-imported model is never fetched
    // against its previous hashes.
    private static readonly TimeSpan ManifestTtl = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (ModelManifest Manifest, DateTime Read)> _manifests = new(StringComparer.Ordinal);

    private BlobModelCatalog(BlobContainerClient container, string prefix, string cachePath, ILogger logger)
    {
        _container = container;
        _prefix = prefix;
        _cachePath = cachePath;
        _logger = logger;
    }

    /// <summary>The blob catalog <paramref name="models"/> names, or null when the catalog is the local folder.</summary>
    public static BlobModelCatalog? From(ModelOptions models, StorageOptions? storage, ILogger? logger)
    {
        if (string.IsNullOrWhiteSpace(models.Source)) return null;
        if (!models.Source.StartsWith(Scheme, StringComparison.Ordinal))
            throw new ArgumentException($"Models:Source '{models.Source}' is not {Scheme}CONTAINER[/PREFIX]; leave it empty to use the local folder Models:Path");
        var rest = models.Source[Scheme.Length..].Trim('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/') + "/";
        if (container.Length == 0)
            throw new ArgumentException($"Models:Source '{models.Source}' names no container ({Scheme}CONTAINER[/PREFIX])");
        var service = (storage is null ? null : ObjectStore.BlobService(storage))
            ?? throw new ArgumentException($"Models:Source is {models.Source} but no storage account is configured (set Storage:ConnectionString or Storage:BlobServiceUri)");
        return new BlobModelCatalog(service.GetBlobContainerClient(container), prefix, models.CachePath, logger ?? NullLogger.Instance);
    }

    /// <summary><c>blob:CONTAINER/PREFIX</c>, for messages.</summary>
    public string Location => $"{Scheme}{_container.Name}/{_prefix}";

    private string BlobName(string model, string file) => $"{_prefix}{model}/{file}";

    /// <summary>Every model whose manifest is in the catalog, by name.</summary>
    public IReadOnlyList<ModelManifest> List()
    {
        var list = new List<ModelManifest>();
        try
        {
            foreach (var item in _container.GetBlobs(new GetBlobsOptions { Prefix = _prefix }))
            {
                var parts = item.Name[_prefix.Length..].Split('/');
                if (parts is [var model, var file] && file == model + ".json" && ReadManifest(model) is { } manifest) list.Add(manifest);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No container yet: an empty catalog.
        }
        return list.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The catalog's manifest of <paramref name="name"/> as read in the last 30 s, or null when there is none.</summary>
    public ModelManifest? Manifest(string name)
    {
        if (_manifests.TryGetValue(name, out var known) && DateTime.UtcNow - known.Read < ManifestTtl) return known.Manifest;
        var manifest = ReadManifest(name);
        if (manifest is not null) _manifests[name] = (manifest, DateTime.UtcNow);
        return manifest;
    }

    private ModelManifest? ReadManifest(string name)
    {
        if (!ModelCatalog.NamePattern().IsMatch(name)) return null;
        try
        {
            var content = _container.GetBlobClient(BlobName(name, name + ".json")).DownloadContent().Value.Content;
            var manifest = JsonSerializer.Deserialize<ModelManifest>(content.ToMemory().Span);
            return manifest is not null && manifest.Name == name ? manifest : null;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The model called <paramref name="name"/>, fetched into the cache when it is first loaded; null when unknown.</summary>
    public ResolvedModel? Resolve(string name)
    {
        var manifest = ReadManifest(name);
        if (manifest is null) return null;
        if (Files(manifest).Any(f => f.File != Path.GetFileName(f.File) || f.File is "" or "." or ".."))
            throw new InvalidOperationException($"model '{name}': the manifest in {Location} lists a file that is not a plain file name; refusing to load it");
        var folder = Path.Combine(_cachePath, manifest.Name);
        return new ResolvedModel(manifest, Path.Combine(folder, manifest.File), null, () => Fetch(manifest, folder),
            () => Files(manifest).Sum(f => BlobLength(manifest.Name, f.File)));
    }

    /// <summary>
    /// Makes the cache folder hold the manifest's files with the manifest's sha256: files already there are kept,
    /// others are downloaded (streamed into a partial file, hashed as they arrive, then moved in place). A download
    /// whose sha256 differs from the manifest is deleted and refused. A download cut short leaves its partial file,
    /// and the next load resumes it by range (the bytes already there are hashed again first, and the whole file's
    /// sha256 is checked as always), so a 4 GB model is not fetched from the start after every broken connection.
    /// Returns the files whose sha256 was checked here.
    /// </summary>
    private IReadOnlySet<string> Fetch(ModelManifest manifest, string folder)
    {
        lock (CacheLocks.GetOrAdd(Path.GetFullPath(folder), _ => new object()))
        {
            Directory.CreateDirectory(folder);
            var verified = new HashSet<string>(StringComparer.Ordinal);
            long downloaded = 0;
            int reused = 0;
            foreach (var (file, sha) in Files(manifest))
            {
                var target = Path.Combine(folder, file);
                if (File.Exists(target) && string.Equals(Hashes.Sha256OfFile(target), sha, StringComparison.OrdinalIgnoreCase))
                {
                    reused++;
                }
                else
                {
                    downloaded += Download(manifest.Name, file, sha, target);
                }
                verified.Add(file);
            }
            File.WriteAllText(Path.Combine(folder, manifest.Name + ".json"), JsonSerializer.Serialize(manifest, ModelCatalog.ManifestJson));
            if (downloaded > 0) Log.Downloaded(_logger, manifest.Name, Location, downloaded / (1024.0 * 1024.0), folder);
            else Log.Cached(_logger, manifest.Name, reused, folder);
            return verified;
        }
    }

    /// <summary>The size of one of a model's files in the catalog; 0 when it is missing (the fetch then says so).</summary>
    private long BlobLength(string model, string file)
    {
        try
        {
            return _container.GetBlobClient(BlobName(model, file)).GetProperties().Value.ContentLength;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return 0;
        }
    }

    /// <summary>Downloads one file of a model into <paramref name="target"/> (see <see cref="Fetch"/>); the bytes fetched now.</summary>
    private long Download(string model, string file, string sha256, string target)
    {
        var blob = _container.GetBlobClient(BlobName(model, file));
        // The partial file is named after the content it must end as: a resumed download only ever appends to the
        // same bytes, and a re-imported model (another sha256) starts its own.
        var part = $"{target}.{sha256.ToLowerInvariant()[..16]}{ModelFiles.PartSuffix}";
        DeleteStaleParts(target, part);
        FileStream output;
        try
        {
            output = new FileStream(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
        }
        catch (IOException)
        {
            // Another process (a second silo on this cache folder) is writing it: download apart, without resuming.
            part = $"{target}.{Guid.NewGuid():N}{ModelFiles.PartSuffix}";
            output = new FileStream(part, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1);
        }
        long length, offset, fetched = 0;
        bool keepPart = false;
        try
        {
            using (output)
            {
                BlobProperties properties;
                try
                {
                    properties = blob.GetProperties().Value;
                }
                catch (RequestFailedException e) when (e.Status == 404)
                {
                    throw new InvalidOperationException($"model '{model}': {Location}{model}/{file} is missing from the catalog (import the model again with 'dpiqa models import FOLDER --to-cluster')", e);
                }
                length = properties.ContentLength;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                offset = output.Length <= length ? output.Length : 0;
                if (offset > 0)
                {
                    ModelFiles.HashPrefix(output, offset, hash);
                    Log.Resuming(_logger, model, file, offset, length);
                }
                output.SetLength(offset);
                output.Position = offset;
                if (offset < length)
                {
                    try
                    {
                        var download = blob.DownloadStreaming(new BlobDownloadOptions
                        {
                            Range = new HttpRange(offset),
                            Conditions = new BlobRequestConditions { IfMatch = properties.ETag }, // a blob replaced meanwhile is not spliced onto
                        }).Value;
                        using var content = download.Content;
                        fetched = ModelFiles.Pump(content, output, hash);
                    }
                    catch (Exception e) when (e is not RequestFailedException { Status: 404 or 412 } and not OperationCanceledException)
                    {
                        // A cut connection (the SDK's own retries spent: IOException or AggregateException): what arrived stays in the
                        // partial file (written unbuffered) for the next load to resume.
                        output.Flush(flushToDisk: true);
                        keepPart = true;
                        throw new InvalidOperationException($"model '{model}': the download of {Location}{model}/{file} broke off at {output.Length} of {length} bytes ({e.Message.Split('\n')[0]}); the next load resumes it", e);
                    }
                }
                output.Flush(flushToDisk: true);
                var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (output.Length != length || !string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
                    throw new InvalidOperationException(offset > 0
                        ? $"model '{model}': sha256 of {Location}{model}/{file}, resumed from a partial download of {offset} bytes, is {actual} but the manifest says {sha256}; refusing to load it (the partial file is deleted and the next load downloads it from the start)"
                        : $"model '{model}': sha256 of {Location}{model}/{file} is {actual} but the manifest says {sha256}; refusing to load it (import the model again with 'dpiqa models import FOLDER --to-cluster')");
            }
            File.Move(part, target, overwrite: true);
            return fetched;
        }
        finally
        {
            if (!keepPart && File.Exists(part)) File.Delete(part);
        }
    }

    /// <summary>Partial downloads of <paramref name="target"/> other than <paramref name="keep"/>: content of an earlier import, never to be resumed.</summary>
    private static void DeleteStaleParts(string target, string keep)
    {
        foreach (var stale in Directory.EnumerateFiles(Path.GetDirectoryName(target)!, Path.GetFileName(target) + ".*" + ModelFiles.PartSuffix))
        {
            // big.onnx.*.part also matches big.onnx.data's partial files: only TARGET.TAG.part with no dot in TAG is this file's.
            var tag = Path.GetFileName(stale)[(Path.GetFileName(target).Length + 1)..^ModelFiles.PartSuffix.Length];
            if (stale == keep || tag.Contains('.', StringComparison.Ordinal)) continue;
            try
            {
                File.Delete(stale);
            }
            catch (IOException)
            {
                // Still being written by another process: it deletes its own.
            }
        }
    }

    private static IEnumerable<(string File, string Sha256)> Files(ModelManifest manifest) =>
        (manifest.ExternalData ?? []).Select(e => (e.Key, e.Value)).Prepend((manifest.File, manifest.Sha256));

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} downloaded from {Catalog} ({MiB:F1} MiB) into the cache {Folder}, sha256 checked")]
        public static partial void Downloaded(ILogger logger, string model, string catalog, double miB, string folder);

        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}: resuming the download of {File} at {Offset} of {Length} bytes (the bytes already there are hashed again)")]
        public static partial void Resuming(ILogger logger, string model, string file, long offset, long length);

        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} found in the cache {Folder} ({Files} files, sha256 checked); nothing downloaded")]
        public static partial void Cached(ILogger logger, string model, int files, string folder);
    }
}
