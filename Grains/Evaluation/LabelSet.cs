using System.Globalization;
using System.Text;
using DpIqa.Results;

namespace DpIqa.Evaluation;

/// <summary>
/// Human labels (MOS per image) read from a CSV, looked up by a result's relative path or, failing that, by its file
/// name. KonIQ-10k's <c>koniq10k_scores_and_distributions.csv</c> names images in <c>image_name</c>; SPAQ's label
/// sheet, saved as CSV, in <c>Image name</c>; both put the MOS in <c>MOS</c>.
/// </summary>
internal sealed class LabelSet
{
    /// <summary>Name columns tried, in order, when none is given.</summary>
    public static readonly string[] DefaultNameColumns = ["image_name", "Image name"];

    /// <summary>The MOS column when none is given.</summary>
    public const string DefaultMosColumn = "MOS";

    private readonly Dictionary<string, int> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _byFileName = new(StringComparer.Ordinal);

    public string File { get; }
    public IReadOnlyList<string> Names { get; }
    public IReadOnlyList<double> Mos { get; }

    private LabelSet(string file, List<string> names, List<double> mos)
    {
        File = file;
        Names = names;
        Mos = mos;
        var fileNameCounts = names.GroupBy(FileName).ToDictionary(g => g.Key, g => g.Count());
        for (int i = 0; i < names.Count; i++)
        {
            _byPath[names[i]] = i;
            // A file name shared by two labels (same name in two folders) can only be matched by its path.
            if (fileNameCounts[FileName(names[i])] == 1) _byFileName[FileName(names[i])] = i;
        }
    }

    /// <summary>The label for a result's relative path: exact path first, then the file name alone; -1 if none.</summary>
    public int Find(string resultPath)
    {
        var path = Normalise(resultPath);
        if (_byPath.TryGetValue(path, out int i)) return i;
        return _byFileName.TryGetValue(FileName(path), out i) ? i : -1;
    }

    /// <summary>Parses a labels CSV; every problem is an <see cref="ArgumentException"/> naming the file, line and fix.</summary>
    public static LabelSet Parse(byte[] content, string file, string? nameColumn, string? mosColumn)
    {
        var text = Encoding.UTF8.GetString(content).TrimStart('\uFEFF'); // a spreadsheet's export may start with a BOM
        using var rows = ResultFiles.ParseCsv(text).GetEnumerator();
        if (!rows.MoveNext()) throw new ArgumentException($"labels file {file} is empty: give a CSV with a header row and a name and a MOS column");
        var header = rows.Current.Select(h => h.Trim()).ToList();
        int name = Column(header, nameColumn is null ? DefaultNameColumns : [nameColumn], "--name-column", file);
        int mos = Column(header, [mosColumn ?? DefaultMosColumn], "--mos-column", file);
        var names = new List<string>();
        var values = new List<double>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        int line = 1;
        while (rows.MoveNext())
        {
            line++;
            var row = rows.Current;
            if (row.All(f => f.Trim().Length == 0)) continue;
            if (row.Count <= Math.Max(name, mos))
                throw new ArgumentException($"labels file {file} line {line} has {row.Count} fields, fewer than the header's: fix or remove the line");
            var n = Normalise(row[name]);
            if (n.Length == 0) throw new ArgumentException($"labels file {file} line {line} has no image name: fix or remove the line");
            if (!double.TryParse(row[mos].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                throw new ArgumentException($"labels file {file} line {line}: MOS '{row[mos]}' is not a number (use '.' as the decimal point)");
            if (seen.TryGetValue(n, out int first))
                throw new ArgumentException($"labels file {file} names '{n}' twice (lines {first} and {line}): keep one label per image");
            seen[n] = line;
            names.Add(n);
            values.Add(v);
        }
        if (names.Count == 0) throw new ArgumentException($"labels file {file} has a header but no labels");
        return new LabelSet(file, names, values);
    }

    private static int Column(List<string> header, string[] wanted, string flag, string file)
    {
        foreach (var w in wanted)
        {
            int i = header.FindIndex(h => string.Equals(h, w, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) return i;
        }
        throw new ArgumentException($"labels file {file} has no column {string.Join(" or ", wanted.Select(w => $"'{w}'"))} " +
            $"(its columns: {string.Join(", ", header.Select(h => $"'{h}'"))}): name the column with {flag}");
    }

    private static string Normalise(string name)
    {
        var n = name.Trim().Replace('\\', '/');
        while (n.StartsWith("./", StringComparison.Ordinal)) n = n[2..];
        return n.TrimStart('/');
    }

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];
}
