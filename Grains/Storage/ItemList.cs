using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Results;

namespace DpIqa.Storage;

/// <summary>
/// A shard's item list: its images, stored beside the job's results as gzipped JSON lines (path, location, version
/// when known); where: <see cref="JobLayout"/>. Not a manifest: that word means a model's contract
/// (<see cref="Models.ModelManifest"/>). Gzipped because writing them is what caps a large job's listing on blob
/// storage: gzipped lists are several times smaller and Azurite wrote them faster (docs/benchmarks.md,
/// "Coordinator on Azurite"). Lists written before are plain JSON lines and still read.
/// </summary>
internal static class ItemList
{
    private sealed record Line(string Path, string Location, string? Version = null);

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static byte[] Encode(IEnumerable<SourceItem> items)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            foreach (var item in items)
            {
                JsonSerializer.Serialize(gzip, new Line(item.Path, item.Location, item.Version), Json);
                gzip.WriteByte((byte)'\n');
            }
        }
        return output.ToArray();
    }

    public static IReadOnlyList<SourceItem> Decode(byte[] content)
    {
        using var input = new MemoryStream(content);
        // gzip's magic number; a list written before lists were gzipped is plain text, which never starts with 0x1f.
        using Stream text = content is [0x1f, 0x8b, ..] ? new GZipStream(input, CompressionMode.Decompress) : input;
        using var reader = new StreamReader(text, Encoding.UTF8);
        var items = new List<SourceItem>();
        while (reader.ReadLine() is { } raw)
        {
            if (raw.Length == 0) continue;
            var l = JsonSerializer.Deserialize<Line>(raw)!;
            items.Add(new SourceItem(l.Location, l.Path, l.Version));
        }
        return items;
    }
}
