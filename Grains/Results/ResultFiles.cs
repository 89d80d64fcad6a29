using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization;
using Parquet.Schema;

namespace DpIqa.Results;

/// <summary>
/// Reads and writes per-image result files in CSV, JSON lines or Parquet, with the columns of <see cref="ResultColumns"/>
/// (one order, one name each, everywhere). Readers find columns by name, so files written before a column existed
/// still read (the row keeps that field's default).
/// </summary>
internal static class ResultFiles
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public static string Extension(ResultFormat format) => format switch
    {
        ResultFormat.Csv => "csv",
        ResultFormat.Jsonl => "jsonl",
        ResultFormat.Parquet => "parquet",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static async Task<byte[]> Encode(IReadOnlyList<ImageResult> rows, ResultFormat format)
    {
        var columns = ResultColumns.All;
        switch (format)
        {
            case ResultFormat.Csv:
            {
                var sb = new StringBuilder(string.Join(',', columns.Select(c => c.Name))).Append('\n');
                foreach (var r in rows) sb.AppendJoin(',', columns.Select(c => c.CsvField(r))).Append('\n');
                return Encoding.UTF8.GetBytes(sb.ToString());
            }
            case ResultFormat.Jsonl:
            {
                using var stream = new MemoryStream();
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = Json.Encoder });
                foreach (var r in rows)
                {
                    writer.WriteStartObject();
                    foreach (var c in columns) c.WriteJson(writer, r, Json);
                    writer.WriteEndObject();
                    writer.Flush();
                    stream.WriteByte((byte)'\n');
                    writer.Reset(); // the next line is a new JSON document
                }
                return stream.ToArray();
            }
            case ResultFormat.Parquet:
            {
                using var stream = new MemoryStream();
                var schema = new ParquetSchema(columns.Select(c => (Field)c.ParquetField).ToArray());
                var data = rows.Select(r => (IDictionary<string, object?>)columns.ToDictionary(c => c.Name, c => c.ParquetValue(r))).ToList();
                await ParquetSerializer.SerializeUntypedAsync(data, schema, stream);
                return stream.ToArray();
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    public static async Task<IReadOnlyList<ImageResult>> Decode(byte[] content, ResultFormat format)
    {
        switch (format)
        {
            case ResultFormat.Csv:
            {
                using var lines = ParseCsv(Encoding.UTF8.GetString(content)).GetEnumerator();
                if (!lines.MoveNext()) return [];
                var columns = lines.Current.Select(Column).ToList(); // the header: unknown names are skipped
                var rows = new List<ImageResult>();
                while (lines.MoveNext())
                {
                    var row = new ImageResult();
                    for (int i = 0; i < lines.Current.Count && i < columns.Count; i++) columns[i]?.ReadCsv(row, lines.Current[i]);
                    rows.Add(row);
                }
                return rows;
            }
            case ResultFormat.Jsonl:
            {
                var rows = new List<ImageResult>();
                foreach (var line in Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    using var json = JsonDocument.Parse(line);
                    var row = new ImageResult();
                    foreach (var c in ResultColumns.All)
                        if (json.RootElement.TryGetProperty(c.Name, out var value)) c.ReadJson(row, value, Json);
                    rows.Add(row);
                }
                return rows;
            }
            case ResultFormat.Parquet:
            {
                using var stream = new MemoryStream(content);
                var file = await ParquetSerializer.DeserializeUntypedAsync(stream);
                var rows = new List<ImageResult>();
                foreach (var values in file.Data)
                {
                    var row = new ImageResult();
                    foreach (var (name, value) in values)
                        if (Column(name) is { } c) c.ReadParquet(row, value);
                    rows.Add(row);
                }
                return rows;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    /// <summary>The column of that name; null for a name this version does not know.</summary>
    private static ResultColumn? Column(string name) => ResultColumns.All.FirstOrDefault(c => c.Name == name);

    /// <summary>RFC 4180 CSV rows (quoted fields, doubled quotes, CRLF or LF); also used for labels files.</summary>
    internal static IEnumerable<List<string>> ParseCsv(string text)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\n')
            {
                fields.Add(field.ToString()); field.Clear();
                yield return fields;
                fields = [];
            }
            else if (c != '\r') field.Append(c);
        }
        if (field.Length > 0 || fields.Count > 0) { fields.Add(field.ToString()); yield return fields; }
    }

    /// <summary>Concatenates the job's counted shard result files (<see cref="IJobGrain.GetResultFiles"/>), in order, into one file (local or blob).</summary>
    public static async Task<int> Merge(Storage.ObjectStore store, IEnumerable<string> shardFiles, ResultFormat format, string destination)
    {
        var all = new List<ImageResult>();
        foreach (var file in shardFiles) all.AddRange(await Decode(await JobLayout.ReadShardFile(store, file), format));
        await store.WriteWhole(destination, await Encode(all, format));
        return all.Count;
    }
}
