using System.Text;
using System.Text.Json;
using DpIqa.Results;

namespace DpIqa.Tests.Results;

/// <summary>
/// Result files, whose columns are declared once (<see cref="ResultColumns"/>): one row of each kind (a score, an error
/// record, a reused score, a teacher's score, the fast preprocessing path, the dedup hashes) reads back equal in every format, and the
/// files are the bytes the format-by-format code wrote before (fixtures/each-kind.*, written by it from these rows).
/// </summary>
public sealed class ResultColumnsTests
{
    /// <summary>One row of each kind a job writes, with the characters CSV must quote and scores on several scales.</summary>
    private static List<ImageResult> RowsOfEachKind() =>
    [
        new() { Path = "a/plain.jpg", Score = 0.123456789f, Status = ImageResult.Ok, Width = 640, Height = 480, Bytes = 123456,
            Model = "proxy-sharpness", ModelVersion = "1", ModelSha256 = "ab12", Milliseconds = 12.3456, Preprocess = ImageResult.Exact,
            PHash = "c3ca9d9d8aa4e86a", ContentMd5 = "32d7173269315b3e7df4f170e76e8f28" },
        new() { Path = "b/broken, \"quoted\".jpg", Score = null, Status = ImageResult.Error, ErrorKind = "decode",
            ErrorMessage = "not an image: \"bad\", line\nbreak", Width = null, Height = null, Bytes = 17,
            Model = "proxy-sharpness", ModelVersion = "1", ModelSha256 = "ab12", Milliseconds = 0.04 },
        new() { Path = "c/reused.png", Score = 71.5f, Status = ImageResult.Ok, Width = 1, Height = 2, Bytes = 3,
            Model = "mos-model", ModelVersion = "2.0", ModelSha256 = "cd34", Milliseconds = 0, Reused = true, Preprocess = ImageResult.Exact,
            PHash = "8000000000000000", ContentMd5 = "d41d8cd98f00b204e9800998ecf8427e" },
        new() { Path = "d/rescored.webp", Score = -3.25e-7f, Status = ImageResult.Ok, Width = 5000, Height = 3000, Bytes = 9_000_000_000,
            Model = "student", ModelVersion = "v3", ModelSha256 = "ef56", Milliseconds = 1234.56, TeacherScore = 0.61f, Preprocess = ImageResult.Exact },
        new() { Path = "e/fast.jpg", Score = 1e6f, Status = ImageResult.Ok, Width = 4032, Height = 3024, Bytes = 2_500_000,
            Model = "student", ModelVersion = "v3", ModelSha256 = "ef56", Milliseconds = 99.95, Preprocess = ImageResult.Fast },
    ];

    /// <summary>Every field of a row, for comparing; milliseconds are stored to a tenth.</summary>
    private static string Fields(ImageResult r)
    {
        var copy = JsonSerializer.Deserialize<ImageResult>(JsonSerializer.Serialize(r))!;
        copy.Milliseconds = Math.Round(copy.Milliseconds, 1, MidpointRounding.AwayFromZero);
        return JsonSerializer.Serialize(copy);
    }

    private static string Fixture(ResultFormat format) => RepoPaths.Of($"tests/DpIqa.Tests/Results/fixtures/each-kind.{ResultFiles.Extension(format)}");

    [Theory]
    [InlineData(ResultFormat.Csv)]
    [InlineData(ResultFormat.Jsonl)]
    [InlineData(ResultFormat.Parquet)]
    public async Task One_row_of_each_kind_reads_back_equal(ResultFormat format)
    {
        var rows = RowsOfEachKind();
        var read = await ResultFiles.Decode(await ResultFiles.Encode(rows, format), format);
        Assert.Equal(rows.Select(Fields), read.Select(Fields));
    }

    [Theory]
    [InlineData(ResultFormat.Csv)]
    [InlineData(ResultFormat.Jsonl)]
    [InlineData(ResultFormat.Parquet)]
    public async Task The_files_are_the_bytes_written_before_and_those_read_back_equal(ResultFormat format)
    {
        var before = await File.ReadAllBytesAsync(Fixture(format));
        Assert.Equal(before, await ResultFiles.Encode(RowsOfEachKind(), format));
        Assert.Equal(RowsOfEachKind().Select(Fields), (await ResultFiles.Decode(before, format)).Select(Fields));
    }

    [Theory]
    [InlineData(ResultFormat.Csv)]
    [InlineData(ResultFormat.Jsonl)]
    [InlineData(ResultFormat.Parquet)]
    public async Task A_file_with_no_rows_reads_back_empty(ResultFormat format) =>
        Assert.Empty(await ResultFiles.Decode(await ResultFiles.Encode([], format), format));

    [Fact]
    public async Task Every_format_names_the_same_columns_in_the_same_order()
    {
        var names = ResultColumns.All.Select(c => c.Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        var rows = RowsOfEachKind();
        var csv = Encoding.UTF8.GetString(await ResultFiles.Encode(rows, ResultFormat.Csv));
        Assert.Equal(string.Join(',', names), csv[..csv.IndexOf('\n')]);
        var jsonl = Encoding.UTF8.GetString(await ResultFiles.Encode(rows, ResultFormat.Jsonl));
        using var line = JsonDocument.Parse(jsonl[..jsonl.IndexOf('\n')]);
        Assert.Equal(names, line.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task A_csv_file_from_before_the_later_columns_reads_with_their_defaults()
    {
        // Files written before teacher_score, reused and preprocess existed end at ms.
        var names = ResultColumns.All.Select(c => c.Name).TakeWhile(n => n != "teacher_score").ToList();
        var old = string.Join(',', names) + "\nx.jpg,0.5,ok,,,10,20,30,m,1,ab,2.5\n";
        var row = Assert.Single(await ResultFiles.Decode(Encoding.UTF8.GetBytes(old), ResultFormat.Csv));
        Assert.Equal(("x.jpg", 0.5f, 10, 2.5), (row.Path, row.Score!.Value, row.Width!.Value, row.Milliseconds));
        Assert.Equal(((float?)null, false, (string?)null), (row.TeacherScore, row.Reused, row.Preprocess));
    }
}
