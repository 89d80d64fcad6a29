using System.Text.Json;

namespace DpIqa.Models;

/// <summary>Changes to the catalog: import (into the local folder or, with --to-cluster, the blob catalog) and remove.</summary>
internal sealed partial class ModelCatalog
{
    /// <summary>Imports an ONNX file under <paramref name="name"/> into the local folder (see <see cref="Import(ModelImport)"/>).</summary>
    public ModelManifest Import(string onnxPath, string name, string? manifestPath, string? version) =>
        Import(new ModelImport(onnxPath) { Name = name, ManifestPath = manifestPath, Version = version });

    /// <summary>
    /// Copies a model (an export folder <c>OUT/NAME</c>, or an ONNX file) into the local folder <c>Models:Path/NAME/</c>
    /// with the external-data files its manifest lists, and writes its manifest with the sha256 of what was copied.
    /// </summary>
    public ModelManifest Import(ModelImport request)
    {
        var (manifest, onnxPath) = request.Prepare();
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
        var (manifest, onnxPath) = request.Prepare();
        blob.Upload(manifest, onnxPath);
        return manifest;
    }

    /// <summary>
    /// Copies a model file into the catalog unless the catalog already holds these bytes there: importing a file
    /// that already lives in the catalog folder (an export written straight into it, or a second import) is a
    /// re-registration. Copying a file onto itself would fail, and the hash also catches the same file reached
    /// through another path (a symlinked folder). The copy is streamed and hashed on the way (see <see cref="ModelFiles"/>):
    /// a file whose bytes are not the manifest's never appears in the catalog.
    /// </summary>
    private static void CopyUnlessThere(string source, string target, string sha256)
    {
        if (!File.Exists(source)) throw new ArgumentException($"{source} does not exist (the manifest lists it beside the model)");
        if (Path.GetFullPath(source) == Path.GetFullPath(target)) return;
        if (File.Exists(target) && string.Equals(Hashes.Sha256OfFile(target), sha256, StringComparison.OrdinalIgnoreCase)) return;
        ModelFiles.CopyVerified(source, target, sha256, actual => new ArgumentException(
            $"{source} has sha256 {actual} but the manifest says {sha256}: not the file the export wrote (export the model again)"));
    }

    /// <summary>Deletes an imported model's manifest and files.</summary>
    public void Remove(string name)
    {
        if (IsBuiltIn(name)) throw new ArgumentException($"'{name}' is built in and cannot be removed");
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
}
