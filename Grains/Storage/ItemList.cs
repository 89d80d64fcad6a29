using System.Text;
using System.Text.Json;

namespace DpIqa.Storage;

/// <summary>
/// A shard's item list: its images, stored beside the job's results (JSON lines: path, location, version); where:
/// <see cref="Jobs.JobLayout"/>. Not a manifest: that word means a model's contract (<see cref="Models.ModelManifest"/>).
/// </summary>
internal static class ItemList
{
    private sealed record Line(string Path, string Location, string? Version = null);

    public static byte[] Encode(IEnumerable<SourceItem> items)
    {
        var sb = new StringBuilder();
        foreach (var item in items) sb.Append(JsonSerializer.Serialize(new Line(item.Path, item.Location, item.Version))).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static IReadOnlyList<SourceItem> Decode(byte[] content) =>
        Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonSerializer.Deserialize<Line>(l)!)
            .Select(l => new SourceItem(l.Location, l.Path, l.Version))
            .ToList();
}
