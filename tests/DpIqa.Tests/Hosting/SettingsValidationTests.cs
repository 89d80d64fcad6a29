using DpIqa.Client;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Tests.Cli;
using DpIqa.Tests.Cluster;
using DpIqa.Testing;

namespace DpIqa.Tests.Hosting;

/// <summary>
/// Settings are checked when the host starts: a bad value stops <c>dpiqa score</c> (its embedded silo) and a silo
/// process with one line that names the key and the value, exit 2, before any image is read. Nothing is clamped.
/// </summary>
public sealed class SettingsValidationTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Inference__MaxBatch", "-1", "Inference:MaxBatch must be >= 0 (got -1" },
        { "Inference__Device", "gpu", "Inference:Device must be one of cpu, cuda (got 'gpu')" },
        { "Scoring__ConcurrentShards", "0", "Scoring:ConcurrentShards must be >= 1 (got 0)" },
        { "Imaging__MaxBytes", "0", "Imaging:MaxBytes must be >= 1 (got 0)" },
        { "Jobs__LeaseSeconds", "0", "Jobs:LeaseSeconds must be >= 1 (got 0)" },
        { "Inference__MaxBatch", "eight", "Inference:MaxBatch must be a whole number (got 'eight')" },
        { "Jobs__LeaseSeconds", "soon", "Jobs:LeaseSeconds must be a whole number (got 'soon')" },
        { "Imaging__MaxBytes", "1e3", "Imaging:MaxBytes must be a whole number (got '1e3')" },
        { "Scoring__Enabled", "maybe", "Scoring:Enabled must be true or false (got 'maybe')" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task A_bad_setting_stops_score_with_exit_2_and_one_line_naming_the_key(string key, string value, string expected)
    {
        var output = Path.Combine(_dir.Path, "out");
        var (code, _, err) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", output], new Dictionary<string, string> { [key] = value });
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.True(err.Length == 1, "stderr should be one line, was:\n" + string.Join('\n', err));
        Assert.StartsWith("error: invalid setting: ", err[0]);
        Assert.Contains(expected, err[0]);
        Assert.False(File.Exists(JobLayout.MergedResults(output, ResultFormat.Csv)));
    }

    [Fact]
    public async Task A_bad_setting_in_dpiqa_json_stops_score_too()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "dpiqa.json"), """{ "Inference": { "MaxBatch": -3 } }""");
        var (code, _, err) = await DpiqaProcess.Run(_dir.Path, ["score", RepoPaths.Photos, "--out", Path.Combine(_dir.Path, "out")]);
        Assert.Equal(ExitCodes.InvalidRequest, code);
        Assert.Contains("Inference:MaxBatch must be >= 0 (got -3", Assert.Single(err));
    }

    [SkippableTheory]
    [InlineData("Inference__Device", "gpu", "Inference:Device must be one of cpu, cuda (got 'gpu')")]
    [InlineData("Http__Port", "eighty", "Http:Port must be a whole number (got 'eighty')")]
    [InlineData("Cluster__SiloPort", "99999999999", "Cluster:SiloPort must be a whole number from -2147483648 to 2147483647 (got '99999999999')")]
    [InlineData("Dashboard__Enabled", "yes", "Dashboard:Enabled must be true or false (got 'yes')")]
    public async Task A_silo_with_a_bad_setting_exits_2_with_one_line_naming_the_key(string key, string value, string expected)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(SiloProcess.SiloDll());
        // A cluster silo must be given TLS, a signing key and scopes before anything else is checked (docs/security.md).
        foreach (var (name, setting) in TestPki.Shared.SiloEnvironment()) psi.Environment[name] = setting;
        psi.Environment["Cluster__SiloPort"] = $"{LoopbackPorts.Free()}";
        psi.Environment["Cluster__GatewayPort"] = $"{LoopbackPorts.Free()}";
        psi.Environment["Http__Port"] = "0";
        psi.Environment[key] = value;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var (code, stdout, err) = await DpiqaProcess.Finish(p);
        Assert.Equal(2, code);
        var line = Assert.Single(err);
        Assert.StartsWith("dpiqa silo: invalid setting: ", line);
        Assert.Contains(expected, line);
        Assert.EndsWith("; fix it in dpiqa.json/appsettings.json or the environment (Section__Key)", line);
        // No stack trace on either stream (the host's "Hosting failed to start" log went to stdout), and the silo
        // stopped before it started: a silo with a bad setting never joins the cluster.
        Assert.DoesNotContain("   at ", stdout);
        Assert.DoesNotContain("Hosting failed to start", stdout);
        Assert.DoesNotContain("Started silo", stdout);
    }

    public void Dispose() => _dir.Dispose();
}
