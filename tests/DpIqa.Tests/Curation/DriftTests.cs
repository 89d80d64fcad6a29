using System.Diagnostics;
using System.Text.Json;
using DpIqa.Curation;

namespace DpIqa.Tests.Curation;

/// <summary>The drift report's two-sample KS test against scipy on fixed data, and what marks a run drifted.</summary>
public sealed class DriftTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static double[] Sample(int seed, int n, double shift, double scale, int? decimals = null)
    {
        // SplitMix64: System.Random's seeded generator gives correlated sequences for neighbouring seeds.
        ulong state = (ulong)seed * 0x9E3779B97F4A7C15UL;
        double Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return ((z ^ (z >> 31)) >> 11) * (1.0 / (1UL << 53));
        }
        return Enumerable.Range(0, n).Select(_ =>
        {
            // Box-Muller: normal scores, on whatever scale the case picks.
            double u = 1 - Next(), v = Next();
            double x = shift + scale * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
            return decimals is { } d ? Math.Round(x, d) : x;
        }).ToArray();
    }

    private List<double[]> Scipy(List<(double[] A, double[] B)> cases)
    {
        var input = Path.Combine(_dir.Path, "cases.json");
        File.WriteAllText(input, JsonSerializer.Serialize(cases.Select(c => new[] { c.A, c.B })));
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoPaths.Of("tests/DpIqa.Tests/Curation/ks_reference.py"));
        start.ArgumentList.Add(input);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, "ks_reference.py needs /usr/bin/python3 with scipy: " + stderr.Result);
        return JsonSerializer.Deserialize<List<double[]>>(stdout.Result)!;
    }

    [Fact]
    public void Kolmogorov_Smirnov_matches_scipy_on_fixed_data()
    {
        var cases = new List<(double[] A, double[] B)>
        {
            (Sample(1, 5, 0.5, 0.1), Sample(2, 7, 0.5, 0.1)),          // small samples, [0,1]-like scores
            (Sample(3, 50, 0.5, 0.1), Sample(4, 200, 0.55, 0.1)),      // a small shift
            (Sample(5, 300, 60, 10), Sample(6, 40, 40, 10)),           // MOS scale, a large shift
            (Sample(7, 100, 0.5, 0.2, 1), Sample(8, 80, 0.6, 0.2, 1)), // many ties
            (Sample(9, 30, 0, 1), Sample(9, 30, 0, 1)),                // identical samples
            (Sample(10, 20, 0, 1), Sample(11, 25, 100, 1)),            // disjoint
        };
        var expected = Scipy(cases);
        for (int i = 0; i < cases.Count; i++)
        {
            var (d, p) = Drift.KolmogorovSmirnov(cases[i].A, cases[i].B);
            Assert.Equal(expected[i][0], d, 12);
            Assert.Equal(expected[i][1], p, 9);
        }
    }

    private static ScoreSummary Summary(double mean, long count) => new() { Count = count, Scored = count, Mean = mean, Percentiles = new() { ["p50"] = mean } };

    [Fact]
    public void A_run_is_drifted_when_new_images_score_unlike_existing_ones_or_the_share_rejected_moves()
    {
        var existing = Sample(20, 200, 0.6, 0.05);
        var previous = new JobSummary { JobId = "prev", Model = "m", All = Summary(0.6, 200), ByFolder = new(), Curation = new CurationResult(0.5, 190, 10) };

        var alike = Drift.Compare(0.3, "prev", previous, Summary(0.6, 220), rejected: 11, Sample(21, 20, 0.6, 0.05), existing);
        Assert.False(alike.Drifted, alike.Reason);
        Assert.Equal((20L, 200L), (alike.NewImages, alike.ExistingImages));
        Assert.Equal(0.05, alike.PreviousRejectedShare!.Value, 12);

        var shifted = Drift.Compare(0.3, "prev", previous, Summary(0.55, 220), rejected: 11, Sample(22, 20, 0.3, 0.05), existing);
        Assert.True(shifted.Drifted);
        Assert.Contains("KS", shifted.Reason);
        Assert.Equal(-0.05, shifted.MeanChange!.Value, 12);

        var rejecting = Drift.Compare(0.3, "prev", previous, Summary(0.6, 200), rejected: 100, Sample(23, 20, 0.6, 0.05), existing);
        Assert.True(rejecting.Drifted);
        Assert.Contains("share rejected", rejecting.Reason);

        var first = Drift.Compare(0.3, null, null, Summary(0.6, 200), null, existing, []);
        Assert.Equal((false, (double?)null, (double?)null), (first.Drifted, first.KsStatistic, first.MeanChange));
    }
}
