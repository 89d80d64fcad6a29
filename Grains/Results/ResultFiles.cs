using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization;

namespace DpIqa.Results;

/// <summary>Reads and writes per-image result files in CSV, JSON lines or Parquet, with one column order everywhere.</summary>
internal static class ResultFiles
{
    private static readonly string[] Columns =
        ["path", "score", "status", "error_kind", "error_message", "width", "height", "bytes", "model", "model_version", "model_sha256", "ms", "teacher_score", "reused", "preprocess"];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Extension(ResultFormat format) => format switch
    {
        ResultFormat.Csv => "csv",
        ResultFormat.Jsonl => "jsonl",
        ResultFormat.Parquet => "parquet",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static async Task<byte[]> Encode(IReadOnlyList<ImageResult> rows, ResultFormat format)
    {
        switch (format)
        {
            case ResultFormat.Csv:
            {
                var sb = new StringBuilder(string.Join(',', Columns)).Append('\n');
                foreach (var r in rows)
                {
                    sb.Append(Csv(r.Path)).Append(',')
                      .Append(r.Score?.ToString("R", CultureInfo.InvariantCulture)).Append(',')
                      .Append(r.Status).Append(',')
                      .Append(r.ErrorKind).Append(',')
                      .Append(Csv(r.ErrorMessage)).Append(',')
                      .Append(r.Width).Append(',')
                      .Append(r.Height).Append(',')
                      .Append(r.Bytes).Append(',')
                      .Append(Csv(r.Model)).Append(',')
                      .Append(Csv(r.ModelVersion)).Append(',')
                      .Append(r.ModelSha256).Append(',')
                      .Append(r.Milliseconds.ToString("F1", CultureInfo.InvariantCulture)).Append(',')
                      .Append(r.TeacherScore?.ToString("R", CultureInfo.InvariantCulture)).Append(',')
                      .Append(r.Reused ? "true" : "false").Append(',')
                      .Append(r.Preprocess).Append('\n');
                }
                return Encoding.UTF8.GetBytes(sb.ToString());
            }
            case ResultFormat.Jsonl:
            {
                var sb = new StringBuilder();
                foreach (var r in rows) sb.Append(JsonSerializer.Serialize(ToJson(r), Json)).Append('\n');
                return Encoding.UTF8.GetBytes(sb.ToString());
            }
            case ResultFormat.Parquet:
            {
                using var stream = new MemoryStream();
                await ParquetSerializer.SerializeAsync(rows.Select(ParquetRow.From).ToList(), stream);
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
                return ParseCsv(Encoding.UTF8.GetString(content)).Skip(1).Select(f => new ImageResult
                {
                    Path = f[0],
                    Score = f[1].Length == 0 ? null : float.Parse(f[1], CultureInfo.InvariantCulture),
                    Status = f[2],
                    ErrorKind = f[3].Length == 0 ? null : f[3],
                    ErrorMessage = f[4].Length == 0 ? null : f[4],
                    Width = f[5].Length == 0 ? null : int.Parse(f[5], CultureInfo.InvariantCulture),
                    Height = f[6].Length == 0 ? null : int.Parse(f[6], CultureInfo.InvariantCulture),
                    Bytes = f[7].Length == 0 ? null : long.Parse(f[7], CultureInfo.InvariantCulture),
                    Model = f[8],
                    ModelVersion = f[9],
                    ModelSha256 = f[10],
                    Milliseconds = double.Parse(f[11], CultureInfo.InvariantCulture),
                    TeacherScore = f.Count < 13 || f[12].Length == 0 ? null : float.Parse(f[12], CultureInfo.InvariantCulture), // files from before the cascade lack the column
                    Reused = f.Count > 13 && f[13] == "true", // files written before the column existed have none
                    Preprocess = f.Count > 14 && f[14].Length > 0 ? f[14] : null, // files written before the column have none
                }).ToList();
            case ResultFormat.Jsonl:
                return Encoding.UTF8.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(l => FromJson(JsonSerializer.Deserialize<JsonRow>(l, Json)!)).ToList();
            case ResultFormat.Parquet:
            {
                using var stream = new MemoryStream(content);
                var list = new List<ImageResult>();
                foreach (var row in (await ParquetSerializer.DeserializeAsync<ParquetRow>(stream)).Data) list.Add(row.To());
                return list;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    private static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        return value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }

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

    // JSON lines and Parquet use the same snake_case column names as the CSV header.
    private sealed record JsonRow(string Path, float? Score, string Status, string? ErrorKind, string? ErrorMessage,
        int? Width, int? Height, long? Bytes, string Model, string ModelVersion, string ModelSha256, double Ms, float? TeacherScore = null, bool Reused = false, string? Preprocess = null);

    private static JsonRow ToJson(ImageResult r) => new(r.Path, r.Score, r.Status, r.ErrorKind, r.ErrorMessage, r.Width, r.Height,
        r.Bytes, r.Model, r.ModelVersion, r.ModelSha256, Math.Round(r.Milliseconds, 1), r.TeacherScore, r.Reused, r.Preprocess);

    private static ImageResult FromJson(JsonRow j) => new()
    {
        Path = j.Path, Score = j.Score, Status = j.Status, ErrorKind = j.ErrorKind, ErrorMessage = j.ErrorMessage,
        Width = j.Width, Height = j.Height, Bytes = j.Bytes, Model = j.Model, ModelVersion = j.ModelVersion, ModelSha256 = j.ModelSha256, Milliseconds = j.Ms,
        TeacherScore = j.TeacherScore, Reused = j.Reused, Preprocess = j.Preprocess,
    };

    private sealed class ParquetRow
    {
        [JsonPropertyName("path")] public string Path { get; set; } = "";
        [JsonPropertyName("score")] public float? Score { get; set; }
        [JsonPropertyName("status")] public string Status { get; set; } = "";
        [JsonPropertyName("error_kind")] public string? ErrorKind { get; set; }
        [JsonPropertyName("error_message")] public string? ErrorMessage { get; set; }
        [JsonPropertyName("width")] public int? Width { get; set; }
        [JsonPropertyName("height")] public int? Height { get; set; }
        [JsonPropertyName("bytes")] public long? Bytes { get; set; }
        [JsonPropertyName("model")] public string Model { get; set; } = "";
        [JsonPropertyName("model_version")] public string ModelVersion { get; set; } = "";
        [JsonPropertyName("model_sha256")] public string ModelSha256 { get; set; } = "";
        [JsonPropertyName("ms")] public double Ms { get; set; }
        [JsonPropertyName("teacher_score")] public float? TeacherScore { get; set; }
        [JsonPropertyName("reused")] public bool Reused { get; set; }
        [JsonPropertyName("preprocess")] public string? Preprocess { get; set; }

        public static ParquetRow From(ImageResult r) => new()
        {
            Path = r.Path, Score = r.Score, Status = r.Status, ErrorKind = r.ErrorKind, ErrorMessage = r.ErrorMessage,
            Width = r.Width, Height = r.Height, Bytes = r.Bytes, Model = r.Model, ModelVersion = r.ModelVersion, ModelSha256 = r.ModelSha256, Ms = Math.Round(r.Milliseconds, 1),
            TeacherScore = r.TeacherScore, Reused = r.Reused, Preprocess = r.Preprocess,
        };

        public ImageResult To() => new()
        {
            Path = Path, Score = Score, Status = Status, ErrorKind = ErrorKind, ErrorMessage = ErrorMessage,
            Width = Width, Height = Height, Bytes = Bytes, Model = Model, ModelVersion = ModelVersion, ModelSha256 = ModelSha256, Milliseconds = Ms,
            TeacherScore = TeacherScore, Reused = Reused, Preprocess = Preprocess,
        };
    }

    /// <summary>Concatenates the job's counted shard result files (<see cref="IJobGrain.GetResultFiles"/>), in order, into one file (local or blob).</summary>
    public static async Task<int> Merge(Storage.ObjectStore store, IEnumerable<string> shardFiles, ResultFormat format, string destination)
    {
        var all = new List<ImageResult>();
        foreach (var file in shardFiles) all.AddRange(await Decode(await Jobs.JobLayout.ReadShardFile(store, file), format));
        await store.WriteWhole(destination, await Encode(all, format));
        return all.Count;
    }
}
