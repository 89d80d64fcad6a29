using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage;
using Azure.Storage.Blobs.Models;

namespace DpIqa.Models;

/// <summary>Changes to the blob catalog: upload (<c>dpiqa models import --to-cluster</c>) and remove.</summary>
internal sealed partial class BlobModelCatalog
{
    // Block size and parallel blocks of an upload: what the SDK holds in memory at once (a few MiB per block).
    private static readonly StorageTransferOptions UploadTransfer = new()
    {
        InitialTransferSize = 4 << 20,
        MaximumTransferSize = 4 << 20,
        MaximumConcurrency = 4,
    };

    /// <summary>
    /// Uploads a checked model: its files first, the manifest last, so a silo that lists the catalog never sees a
    /// manifest whose files are not all there. Each file is streamed (read once, hashed as it is sent); a file whose
    /// bytes are not the manifest's is deleted from the catalog again and the import fails. An upload cut short
    /// commits nothing new (a block blob's content changes only when its block list is committed, at the end), and a
    /// manifest is only written once every file is there with its hash, so a silo never loads a half-uploaded model.
    /// </summary>
    public void Upload(ModelManifest manifest, string onnxPath)
    {
        _container.CreateIfNotExists();
        var folder = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        UploadFile(manifest.Name, manifest.File, onnxPath, manifest.Sha256);
        foreach (var (file, sha) in manifest.ExternalData ?? [])
        {
            var path = Path.Combine(folder, file);
            if (!File.Exists(path)) throw new ArgumentException($"{path} does not exist (the manifest lists it beside the model)");
            UploadFile(manifest.Name, file, path, sha);
        }
        _container.GetBlobClient(BlobName(manifest.Name, manifest.Name + ".json"))
            .Upload(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(manifest, ModelCatalog.ManifestJson)), overwrite: true);
        _manifests.TryRemove(manifest.Name, out _);
    }

    private void UploadFile(string model, string file, string path, string sha256)
    {
        var blob = _container.GetBlobClient(BlobName(model, file));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        using (var hashing = new ModelFiles.HashingStream(input, hash))
        {
            blob.Upload(hashing, new BlobUploadOptions { TransferOptions = UploadTransfer });
        }
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase)) return;
        blob.DeleteIfExists();
        throw new ArgumentException($"{path} has sha256 {actual} but the manifest says {sha256}: not the file the export wrote (export the model again)");
    }

    /// <summary>Deletes a model: the manifest first (it leaves the listing at once), then its files. False when unknown.</summary>
    public bool Remove(string name)
    {
        var manifest = ReadManifest(name);
        if (manifest is null) return false;
        _container.GetBlobClient(BlobName(name, name + ".json")).DeleteIfExists();
        _manifests.TryRemove(name, out _);
        foreach (var (file, _) in Files(manifest)) _container.GetBlobClient(BlobName(name, file)).DeleteIfExists();
        return true;
    }
}
