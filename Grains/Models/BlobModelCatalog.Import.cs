using System.Text.Json;

namespace DpIqa.Models;

/// <summary>Changes to the blob catalog: upload (<c>dpiqa models import --to-cluster</c>) and remove.</summary>
internal sealed partial class BlobModelCatalog
{
    /// <summary>
    /// Uploads a checked model: its files first, the manifest last, so a silo that lists the catalog never sees a
    /// manifest whose files are not all there.
    /// </summary>
    public void Upload(ModelManifest manifest, string onnxPath)
    {
        _container.CreateIfNotExists();
        var folder = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        _container.GetBlobClient(BlobName(manifest.Name, manifest.File)).Upload(onnxPath, overwrite: true);
        foreach (var file in (manifest.ExternalData ?? []).Keys)
            _container.GetBlobClient(BlobName(manifest.Name, file)).Upload(Path.Combine(folder, file), overwrite: true);
        _container.GetBlobClient(BlobName(manifest.Name, manifest.Name + ".json"))
            .Upload(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(manifest, ModelCatalog.ManifestJson)), overwrite: true);
        _manifests.TryRemove(manifest.Name, out _);
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
