using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Models;

/// <summary>A model ready to load: its manifest and where its verified bytes come from.</summary>
internal sealed class ResolvedModel(ModelManifest manifest, string? onnxPath, Func<byte[]>? builtIn, Func<IReadOnlySet<string>>? fetch = null,
    Func<long>? remoteBytes = null)
{
    public ModelManifest Manifest { get; } = manifest;

    /// <summary>The ONNX file of an imported model; null for the built-in one.</summary>
    public string? OnnxPath { get; } = onnxPath;

    /// <summary>Checks the ONNX file (and any external-data files) against the manifest's sha256; throws with a message on a mismatch.</summary>
    public void Verify()
    {
        if (OnnxPath is null) return;
        // A model from a blob catalog goes into the local cache first, which checks what it fetches or finds: a
        // second pass over gigabytes would only cost time.
        var checkedNow = fetch?.Invoke() ?? new HashSet<string>();
        if (!checkedNow.Contains(Manifest.File)) CheckHash(OnnxPath, Manifest.Sha256);
        foreach (var (file, sha) in Manifest.ExternalData ?? [])
            if (!checkedNow.Contains(file)) CheckHash(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(OnnxPath)!, file), sha);
    }

    private void CheckHash(string path, string expected)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"model '{Manifest.Name}': file {path} is missing (re-import the model)");
        string actual = Hashes.Sha256OfFile(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"model '{Manifest.Name}': sha256 of {path} is {actual} but the manifest says {expected}; refusing to load it (re-import the model)");
    }

    /// <summary>Whether the model is computed in C# (the built-in BRISQUE) rather than by an ONNX graph.</summary>
    public bool Native => Manifest.Preprocessing == ModelManifest.NativeGrayPreprocessing;

    /// <summary>
    /// The size of the model's files (the graph and its external data), known before they are fetched: from the blob
    /// catalog for a model not yet in the cache, else from the files. What the memory check before a load goes by.
    /// </summary>
    public long FileBytes()
    {
        if (Native) return 0; // computed in C#, no files to hold
        if (builtIn is not null) return builtIn().LongLength;
        if (remoteBytes is not null) return remoteBytes();
        var folder = System.IO.Path.GetDirectoryName(OnnxPath!)!;
        return (Manifest.ExternalData?.Keys ?? Enumerable.Empty<string>()).Append(Manifest.File)
            .Select(f => new FileInfo(System.IO.Path.Combine(folder, f))).Sum(f => f.Exists ? f.Length : 0);
    }

    /// <summary>The verified ONNX bytes, whole in memory: for the built-in model and tests only. Imported models are
    /// loaded from their file (<see cref="CreateSession"/>), never read whole (a teacher's graph plus data is 4 GB).</summary>
    public byte[] Load()
    {
        if (Native) throw new InvalidOperationException($"model '{Manifest.Name}' is computed in C#, not by an ONNX graph");
        if (builtIn is not null) return builtIn();
        Verify();
        return File.ReadAllBytes(OnnxPath!);
    }

    /// <summary>An ONNX Runtime session over the verified model (from the file, so external data next to it is found).</summary>
    public InferenceSession CreateSession(SessionOptions options)
    {
        if (Native) throw new InvalidOperationException($"model '{Manifest.Name}' is computed in C#, not by an ONNX graph");
        if (builtIn is not null) return new InferenceSession(builtIn(), options);
        Verify();
        return new InferenceSession(OnnxPath!, options);
    }
}
