using System.Globalization;
using System.Text.Json;
using Parquet.Schema;

namespace DpIqa.Results;

/// <summary>
/// The one declaration of a result file's columns, in order: each column's name and how it reads and writes an
/// <see cref="ImageResult"/>. CSV (header and fields), JSON lines (property names and values) and Parquet (schema and
/// column data) all use it, and so does every reader of results; a new column is one line here.
/// </summary>
internal static class ResultColumns
{
    public static IReadOnlyList<ResultColumn> All { get; } =
    [
        Text("path", r => r.Path, (r, v) => r.Path = v),
        Number("score", r => r.Score, (r, v) => r.Score = v),
        Text("status", r => r.Status, (r, v) => r.Status = v),
        OptionalText("error_kind", r => r.ErrorKind, (r, v) => r.ErrorKind = v),
        OptionalText("error_message", r => r.ErrorMessage, (r, v) => r.ErrorMessage = v),
        Integer("width", r => r.Width, (r, v) => r.Width = v),
        Integer("height", r => r.Height, (r, v) => r.Height = v),
        new ResultColumn<long?>("bytes", r => r.Bytes, (r, v) => r.Bytes = v,
            v => v?.ToString(CultureInfo.InvariantCulture) ?? "", s => s.Length == 0 ? null : long.Parse(s, CultureInfo.InvariantCulture)),
        Text("model", r => r.Model, (r, v) => r.Model = v),
        Text("model_version", r => r.ModelVersion, (r, v) => r.ModelVersion = v),
        Text("model_sha256", r => r.ModelSha256, (r, v) => r.ModelSha256 = v),
        // Milliseconds to a tenth: JSON lines and Parquet store the rounded value, CSV prints one decimal.
        new ResultColumn<double>("ms", r => Math.Round(r.Milliseconds, 1), (r, v) => r.Milliseconds = v,
            v => v.ToString(CultureInfo.InvariantCulture), s => double.Parse(s, CultureInfo.InvariantCulture),
            csv: r => r.Milliseconds.ToString("F1", CultureInfo.InvariantCulture)),
        // These came later: files written before them lack the column, and their rows read the default.
        Number("teacher_score", r => r.TeacherScore, (r, v) => r.TeacherScore = v),
        new ResultColumn<bool>("reused", r => r.Reused, (r, v) => r.Reused = v, v => v ? "true" : "false", s => s == "true"),
        OptionalText("preprocess", r => r.Preprocess, (r, v) => r.Preprocess = v),
        // The hashes --dedup groups by (docs/duplicates.md); every scored image has them, reused ones from the score cache.
        OptionalText("phash", r => r.PHash, (r, v) => r.PHash = v),
        OptionalText("content_md5", r => r.ContentMd5, (r, v) => r.ContentMd5 = v),
    ];

    /// <summary>A text column that always has a value (an empty CSV field reads as "").</summary>
    private static ResultColumn<string> Text(string name, Func<ImageResult, string> get, Action<ImageResult, string> set) =>
        new(name, get, set, Csv.Field, s => s);

    /// <summary>A text column that may be absent (an empty CSV field reads as null).</summary>
    private static ResultColumn<string?> OptionalText(string name, Func<ImageResult, string?> get, Action<ImageResult, string?> set) =>
        new(name, get, set, Csv.Field, s => s.Length == 0 ? null : s);

    /// <summary>A score: written so that it reads back as the same float ("R"), absent for error records.</summary>
    private static ResultColumn<float?> Number(string name, Func<ImageResult, float?> get, Action<ImageResult, float?> set) =>
        new(name, get, set, v => v?.ToString("R", CultureInfo.InvariantCulture) ?? "", s => s.Length == 0 ? null : float.Parse(s, CultureInfo.InvariantCulture));

    private static ResultColumn<int?> Integer(string name, Func<ImageResult, int?> get, Action<ImageResult, int?> set) =>
        new(name, get, set, v => v?.ToString(CultureInfo.InvariantCulture) ?? "", s => s.Length == 0 ? null : int.Parse(s, CultureInfo.InvariantCulture));
}

/// <summary>One column of a result file (see <see cref="ResultColumns.All"/>), in each format.</summary>
internal abstract class ResultColumn(string name)
{
    /// <summary>The column's name: the CSV header, the JSON property, the Parquet field.</summary>
    public string Name { get; } = name;

    public abstract string CsvField(ImageResult row);
    public abstract void ReadCsv(ImageResult row, string field);
    public abstract void WriteJson(Utf8JsonWriter writer, ImageResult row, JsonSerializerOptions options);
    public abstract void ReadJson(ImageResult row, JsonElement value, JsonSerializerOptions options);
    public abstract DataField ParquetField { get; }
    public abstract object? ParquetValue(ImageResult row);
    public abstract void ReadParquet(ImageResult row, object? value);
}

/// <summary>A column holding a <typeparamref name="T"/>: JSON and Parquet store the value as it is, CSV as text.</summary>
/// <param name="get">The value stored for a row.</param>
/// <param name="set">Puts a value read back into a row.</param>
/// <param name="format">The value as a CSV field.</param>
/// <param name="parse">A CSV field back into a value.</param>
/// <param name="csv">Where CSV prints the row differently from <paramref name="format"/> of the stored value.</param>
internal sealed class ResultColumn<T>(string name, Func<ImageResult, T> get, Action<ImageResult, T> set,
    Func<T, string> format, Func<string, T> parse, Func<ImageResult, string>? csv = null) : ResultColumn(name)
{
    private readonly DataField<T> _field = new(name);

    public override string CsvField(ImageResult row) => csv is null ? format(get(row)) : csv(row);

    public override void ReadCsv(ImageResult row, string field) => set(row, parse(field));

    public override void WriteJson(Utf8JsonWriter writer, ImageResult row, JsonSerializerOptions options)
    {
        writer.WritePropertyName(Name);
        JsonSerializer.Serialize(writer, get(row), options);
    }

    public override void ReadJson(ImageResult row, JsonElement value, JsonSerializerOptions options) => set(row, value.Deserialize<T>(options)!);

    public override DataField ParquetField => _field;

    public override object? ParquetValue(ImageResult row) => get(row);

    public override void ReadParquet(ImageResult row, object? value) => set(row, (T)value!);
}

/// <summary>RFC 4180 fields.</summary>
internal static class Csv
{
    /// <summary>A field, quoted only where it holds a comma, a quote or a line break (null and empty are empty).</summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        return value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
    }
}
