using System.Diagnostics;
using System.Text.Json;

namespace DpIqa.Tests.Evaluation;

/// <summary>Runs scipy_reference.py (beside this file) with Debian's /usr/bin/python3, SciPy and NumPy on a fixture.</summary>
internal static class SciPyReference
{
    private const string Python = "/usr/bin/python3";

    public static string Fixture(string name) => RepoPaths.Of($"tests/DpIqa.Tests/Evaluation/fixtures/{name}.csv");

    public static JsonElement Of(string fixture)
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} is missing: these tests compare with SciPy (apt-get install python3-scipy)");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoPaths.Of("tests/DpIqa.Tests/Evaluation/scipy_reference.py"));
        start.ArgumentList.Add(fixture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scipy_reference.py failed (exit {process.ExitCode}; needs python3-scipy): {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }
}
