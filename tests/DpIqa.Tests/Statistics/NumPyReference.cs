using System.Diagnostics;
using System.Text.Json;

namespace DpIqa.Tests.Statistics;

/// <summary>Runs numpy_reference.py (beside this file) with Debian's /usr/bin/python3 and its NumPy.</summary>
internal static class NumPyReference
{
    private const string Python = "/usr/bin/python3";

    /// <summary>NumPy's statistics of <paramref name="scores"/> ("all").</summary>
    public static JsonElement OfScores(IReadOnlyCollection<float> scores, string folder)
    {
        var file = Path.Combine(folder, $"scores-{Guid.NewGuid():N}.f32");
        var bytes = new byte[scores.Count * 4];
        int offset = 0;
        foreach (var s in scores) { BitConverter.TryWriteBytes(bytes.AsSpan(offset), s); offset += 4; }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the reference reads little-endian float32");
        File.WriteAllBytes(file, bytes);
        return Run(file).GetProperty("all");
    }

    /// <summary>NumPy's statistics of a results.csv: "all" and "by_folder".</summary>
    public static JsonElement OfResults(string resultsCsv) => Run(resultsCsv);

    private static JsonElement Run(string input)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} is missing: these tests compare with NumPy (apt-get install python3 python3-numpy)");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoPaths.Of("tests/DpIqa.Tests/Statistics/numpy_reference.py"));
        start.ArgumentList.Add(input);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"numpy_reference.py failed (exit {process.ExitCode}; needs python3-numpy): {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }
}
