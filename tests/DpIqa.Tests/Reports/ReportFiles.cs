using System.Text.RegularExpressions;
using SkiaSharp;

namespace DpIqa.Tests.Reports;

/// <summary>What a test checks in a report.html: its resources, and its inline images.</summary>
internal static partial class ReportFiles
{
    /// <summary>Every src/href that is neither an inline data: URI nor a file beside the report (the report must have none).</summary>
    public static List<string> MissingResources(string reportFile)
    {
        var html = File.ReadAllText(reportFile);
        var folder = Path.GetDirectoryName(reportFile)!;
        var missing = new List<string>();
        foreach (Match m in Reference().Matches(html))
        {
            var value = m.Groups["value"].Value;
            if (value.StartsWith("data:", StringComparison.Ordinal)) continue;
            if (value.StartsWith('#')) continue;
            if (value.Contains("://", StringComparison.Ordinal) || !File.Exists(Path.Combine(folder, Uri.UnescapeDataString(value)))) missing.Add(value);
        }
        // CSS can pull resources too.
        foreach (Match m in CssUrl().Matches(html))
            if (!m.Groups["value"].Value.StartsWith("data:", StringComparison.Ordinal)) missing.Add(m.Groups["value"].Value);
        return missing;
    }

    /// <summary>The inline images: alt text, format and decoded size.</summary>
    public static List<(string Alt, string Format, int Width, int Height)> Images(string reportFile)
    {
        var list = new List<(string, string, int, int)>();
        foreach (Match m in InlineImage().Matches(File.ReadAllText(reportFile)))
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String(m.Groups["data"].Value));
            Assert.NotNull(bitmap);
            list.Add((System.Net.WebUtility.HtmlDecode(m.Groups["alt"].Value), m.Groups["format"].Value, bitmap.Width, bitmap.Height));
        }
        return list;
    }

    [GeneratedRegex("""(?:src|href)\s*=\s*"(?<value>[^"]*)"|(?:src|href)\s*=\s*'(?<value>[^']*)'""", RegexOptions.IgnoreCase)]
    private static partial Regex Reference();

    [GeneratedRegex("""url\(\s*['"]?(?<value>[^'")]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex CssUrl();

    [GeneratedRegex("""<img alt="(?<alt>[^"]*)" src="data:image/(?<format>png|jpeg);base64,(?<data>[^"]+)">""")]
    private static partial Regex InlineImage();
}
