using System.Runtime.CompilerServices;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DpIqa.Imaging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace DpIqa.Storage;

/// <summary>
/// Reads, writes and lists job data wherever a location points: local folders or Azure Blob Storage.
/// Transient storage errors (HTTP 408/429/5xx, I/O) are retried with exponential backoff on top of the Azure
/// SDK's own retries; what still fails reaches the caller (a scoring worker turns it into a 'fetch' error record).
/// Local paths go through <see cref="LocalPaths"/>: on a cluster silo only those under Storage:LocalRoots.
/// </summary>
internal sealed class ObjectStore
{
    private readonly BlobServiceClient? _blobs;
    private readonly LocalPaths _local;
    private readonly ResiliencePipeline _retry;

    /// <param name="options">The storage account, if any.</param>
    /// <param name="localPaths">Which local paths jobs may use; silos get theirs from <see cref="Hosting.SiloSetup"/>,
    /// the CLI (on the user's own machine) leaves it out and may use any path.</param>
    public ObjectStore(IOptions<StorageOptions> options, LocalPaths? localPaths = null)
    {
        _blobs = BlobService(options.Value);
        _local = localPaths ?? LocalPaths.Any;
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<RequestFailedException>(e => e.Status is 408 or 429 or >= 500).Handle<IOException>(e => e is not FileNotFoundException and not DirectoryNotFoundException),
            MaxRetryAttempts = 3,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            UseJitter = true,
        }).Build();
    }

    /// <summary>
    /// The blob service of the configured account: a connection string (account key or SAS), a service URI
    /// carrying a SAS (<c>?sv=...&amp;sig=...</c>), or a service URI with DefaultAzureCredential; null when none is set.
    /// </summary>
    internal static BlobServiceClient? BlobService(StorageOptions o)
    {
        if (!string.IsNullOrWhiteSpace(o.ConnectionString)) return new BlobServiceClient(o.ConnectionString);
        if (string.IsNullOrWhiteSpace(o.BlobServiceUri)) return null;
        var uri = new Uri(o.BlobServiceUri);
        return uri.Query.Contains("sig=", StringComparison.Ordinal)
            ? new BlobServiceClient(uri)
            : new BlobServiceClient(uri, new DefaultAzureCredential());
    }

    private BlobContainerClient Container(string location)
    {
        if (_blobs is null)
            throw new ArgumentException(Secrets.Redact($"'{location}' is in blob storage but no storage account is configured (set Storage:ConnectionString or Storage:BlobServiceUri)"));
        return _blobs.GetBlobContainerClient(Locations.ParseBlob(location).Container);
    }

    /// <summary>The client of a blob location (curation actions: tags and server-side copies).</summary>
    internal BlobClient BlobAt(string location) => Container(location).GetBlobClient(Locations.ParseBlob(location).Name);

    public async Task<byte[]> Read(string location, CancellationToken cancellationToken = default)
    {
        if (!Locations.IsBlob(location))
        {
            var path = _local.Resolve(location);
            return await _retry.ExecuteAsync(async ct => await File.ReadAllBytesAsync(path, ct), cancellationToken);
        }
        var blob = Container(location).GetBlobClient(Locations.ParseBlob(location).Name);
        return await _retry.ExecuteAsync(async ct => (await blob.DownloadContentAsync(ct)).Value.Content.ToArray(), cancellationToken);
    }

    /// <summary>The content at a location, or null when there is no such file or blob (other errors reach the caller).</summary>
    public async Task<byte[]?> TryRead(string location, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Read(location, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException || e is RequestFailedException { Status: 404 })
        {
            return null;
        }
    }

    /// <summary>Writes the whole content at once: readers see the old content or the new, never part of it.</summary>
    public async Task WriteWhole(string location, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        if (!Locations.IsBlob(location))
        {
            var path = _local.Resolve(location);
            await _retry.ExecuteAsync(async ct => await LocalFiles.WriteWhole(path, content, ct), cancellationToken);
            return;
        }
        var blob = Container(location).GetBlobClient(Locations.ParseBlob(location).Name);
        await _retry.ExecuteAsync(async ct => await blob.UploadAsync(BinaryData.FromBytes(content), overwrite: true, ct), cancellationToken);
    }

    /// <summary>
    /// Appends to a local file (created if missing). Local files only: a block blob cannot be appended to, so callers
    /// write blobs whole. A crash can leave the last append cut short; readers of appended files must allow that.
    /// </summary>
    public async Task AppendLocal(string location, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        if (Locations.IsBlob(location)) throw new ArgumentException($"'{location}' is in blob storage: only local files are appended to");
        var path = _local.Resolve(location);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await _retry.ExecuteAsync(async ct =>
        {
            await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            await file.WriteAsync(content, ct);
        }, cancellationToken);
    }

    /// <summary>Lines of a listing file: a local path or container/name each; the line is the result path.</summary>
    private async IAsyncEnumerable<SourceItem> ReadListing(string file, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Read line by line, never whole: a listing of millions of lines would otherwise sit in memory three times over
        // (bytes, text, lines) for the whole listing. A blob is read in chunks, each with the SDK's own retries.
        using var reader = Locations.IsBlob(file)
            ? new StreamReader(await _retry.ExecuteAsync(async ct => await BlobAt(file).OpenReadAsync(cancellationToken: ct), cancellationToken))
            : new StreamReader(_local.Resolve(file));
        while (await reader.ReadLineAsync(cancellationToken) is { } raw)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            cancellationToken.ThrowIfCancellationRequested();
            yield return new SourceItem(Path.IsPathRooted(line) ? line : Locations.Blob(line), line.TrimStart('/'));
        }
    }

    /// <summary>Refuses sources that do not exist, with a message saying what to fix.</summary>
    public async Task ValidateSources(IReadOnlyList<string> sources, CancellationToken cancellationToken = default)
    {
        if (sources.Count == 0) throw new ArgumentException("no source given: name at least one folder, image file or blob container");
        foreach (var source in sources)
        {
            if (string.IsNullOrWhiteSpace(source)) throw new ArgumentException("a source is empty: name a folder, an image file or a blob container");
            RefuseCredentials(source, "source");
            if (Locations.IsListing(source))
            {
                var file = source[Locations.ListingScheme.Length..];
                if (!Locations.IsBlob(file) && !File.Exists(_local.Validate(file))) throw new ArgumentException(Secrets.Redact($"listing file '{file}' does not exist"));
            }
            else if (Locations.IsBlob(source))
            {
                var container = Container(source);
                if (!await container.ExistsAsync(cancellationToken))
                    throw new ArgumentException(Secrets.Redact($"blob container '{container.Name}' does not exist (source '{source[Locations.BlobScheme.Length..]}')"));
            }
            else if (_local.Validate(source) is var path && !Directory.Exists(path) && !File.Exists(path))
            {
                throw new ArgumentException(Secrets.Redact($"source '{source}' does not exist: name a folder or an image file"));
            }
        }
    }

    /// <summary>
    /// A credential pasted into a location would travel into logs, job state and summaries: refuse it, echoing
    /// the location without the secret.
    /// </summary>
    private static void RefuseCredentials(string location, string what)
    {
        if (Secrets.Carries(location))
            throw new ArgumentException($"{what} '{Secrets.Redact(location)}' carries a credential: name only container[/prefix] or a path, and give the silos access with Storage:ConnectionString or Storage:BlobServiceUri");
    }

    /// <summary>Creates the output folder or container.</summary>
    public async Task PrepareOutput(string output, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(output)) throw new ArgumentException("no output given: name a folder or a container/prefix for the results");
        RefuseCredentials(output, "output");
        if (Locations.IsBlob(output)) await Container(output).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        else Directory.CreateDirectory(_local.Validate(output));
    }

    /// <summary>
    /// Every image of the sources in a stable order, streaming (blob listings page by page), so scoring starts
    /// before listing ends and a restarted listing can skip what it already wrote.
    /// </summary>
    public async IAsyncEnumerable<SourceItem> List(IReadOnlyList<string> sources, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var listing in sources.Where(Locations.IsListing))
            await foreach (var item in ReadListing(listing[Locations.ListingScheme.Length..], cancellationToken)) yield return item;
        var local = sources.Where(s => !Locations.IsBlob(s) && !Locations.IsListing(s)).ToList();
        if (local.Count > 0)
            await foreach (var item in SourceListing.List(local, sources.Count > 1, _local, cancellationToken)) yield return item;
        foreach (var source in sources.Where(Locations.IsBlob))
        {
            var (containerName, prefix) = Locations.ParseBlob(source);
            var container = Container(source);
            var listPrefix = prefix.Length == 0 ? null : prefix.TrimEnd('/') + "/";
            // A blob listing is already in name order; each page arrives as it is listed.
            await foreach (var page in container.GetBlobsAsync(new GetBlobsOptions { Prefix = listPrefix }, cancellationToken).AsPages(pageSizeHint: 5000))
            {
                foreach (var blob in page.Values)
                {
                    if (!ImageFormats.Extensions.Contains(Path.GetExtension(blob.Name))) continue;
                    var relative = listPrefix is null ? blob.Name : blob.Name[listPrefix.Length..];
                    if (sources.Count > 1) relative = (prefix.Length == 0 ? containerName : prefix.TrimEnd('/').Split('/')[^1]) + "/" + relative;
                    yield return new SourceItem(Locations.Blob($"{containerName}/{blob.Name}"), relative, BlobVersion(blob.Properties));
                }
            }
        }
    }

    /// <summary>
    /// What tells a changed blob from an unchanged one for the score cache: its Content-MD5 where the service keeps one
    /// (metadata changes, e.g. a curation tag stored as metadata, leave it alone), else its ETag.
    /// </summary>
    internal static string? BlobVersion(BlobItemProperties properties) =>
        properties.ContentHash is { Length: > 0 } md5 ? "md5:" + Convert.ToBase64String(md5) : properties.ETag?.ToString();

    /// <summary>Names of the files directly in a folder (local) or under a prefix (blob); empty when there is none.</summary>
    public async Task<IReadOnlyList<string>> ListNames(string folder, CancellationToken cancellationToken = default)
    {
        if (!Locations.IsBlob(folder))
            return Directory.Exists(folder) ? Directory.EnumerateFiles(folder).Select(f => Path.GetFileName(f)).ToList() : [];
        var prefix = Locations.ParseBlob(folder).Name.TrimEnd('/') + "/";
        var names = new List<string>();
        await foreach (var blob in Container(folder).GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
            if (blob.Name.IndexOf('/', prefix.Length) < 0) names.Add(blob.Name[prefix.Length..]);
        return names;
    }

    /// <summary>Deletes a file or blob if it exists.</summary>
    public async Task Delete(string location, CancellationToken cancellationToken = default)
    {
        if (!Locations.IsBlob(location))
        {
            File.Delete(location); // no error when it does not exist
            return;
        }
        var blob = Container(location).GetBlobClient(Locations.ParseBlob(location).Name);
        await _retry.ExecuteAsync(async ct => await blob.DeleteIfExistsAsync(cancellationToken: ct), cancellationToken);
    }
}
