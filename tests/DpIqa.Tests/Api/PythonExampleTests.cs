using DpIqa.Tests.Cluster;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using DpIqa.Jobs;
using Xunit.Abstractions;

namespace DpIqa.Tests.Api;

/// <summary>
/// The Python example of docs/api.md (docs/examples/api_example.py, standard library only) run by Debian's
/// /usr/bin/python3 against the silo process: the summary it prints is the job's.
/// </summary>
[Collection(ApiSiloCollection.Name)]
public sealed class PythonExampleTests(ApiSilo api, ITestOutputHelper output)
{
    public static string Example => RepoPaths.Of("docs/examples/api_example.py");

    [SkippableFact]
    public async Task The_docs_python_example_submits_follows_and_prints_the_jobs_summary()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) Skip.If(true, Dependency.Missing($"{python} is not installed (apt-get install python3)"));
        // The doc shows the file itself (it is included, not copied), so what is tested is what readers run.
        Assert.Contains("docs/examples/api_example.py", await File.ReadAllTextAsync(RepoPaths.Of("docs/api.md")));

        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Example, "--api", api.BaseUrl, "--source", $"{api.Container}/in", "--out", $"{api.Container}/py-{Guid.NewGuid():N}", "--model", ApiSilo.Model })
            psi.ArgumentList.Add(a);
        psi.Environment["DPIQA_TOKEN"] = TestPki.Shared.Token("py-example", Role.Operator, ["*"]); // submitting needs an operator's token
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        output.WriteLine(await stderr);
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {await stderr}");

        var lines = (await stderr).Split('\n');
        var jobId = lines.Single(l => l.StartsWith("submitted ", StringComparison.Ordinal))["submitted ".Length..].Trim();
        Assert.Contains(lines, l => l.StartsWith("completed: ", StringComparison.Ordinal)); // the progress it followed ended with the job
        var (status, summary) = await api.Finished(jobId);
        Assert.Equal(JobState.Completed, status.State);
        var printed = JsonNode.Parse(await stdout);
        JsonCompare.Equal(JsonNode.Parse(JsonSerializer.Serialize(summary, JobSummaryFile.Json)), printed);
        Assert.Equal(ApiSilo.Images, printed!["all"]!["count"]!.GetValue<long>());
        Assert.Equal(ApiSilo.Broken, printed["all"]!["failed"]!.GetValue<long>());
    }
}
