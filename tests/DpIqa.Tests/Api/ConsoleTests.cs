using DpIqa.Tests.Cluster;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace DpIqa.Tests.Api;

/// <summary>
/// The web console in a real browser (Debian's headless Chromium driven by Playwright) on the silo process: a running
/// job's page shows its progress moving and, at the end, the counts `dpiqa job summary` prints; the jobs list and the
/// schedules page show the job and a schedule's run. Screenshots of each page go to the test's output folder, and to
/// docs/ when DPIQA_CONSOLE_SCREENSHOTS=1.
/// </summary>
[Collection(ApiSiloCollection.Name)]
public sealed class ConsoleTests(ApiSilo api, ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";

    [SkippableFact]
    public async Task The_console_follows_a_running_job_to_the_counts_of_dpiqa_job_summary()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        if (!File.Exists(Chromium)) Skip.If(true, Dependency.Missing($"{Chromium} is not installed (apt-get install chromium)"));
        using var temp = new TempFolder();
        var shots = Environment.GetEnvironmentVariable("DPIQA_CONSOLE_SCREENSHOTS") == "1" ? RepoPaths.Of("docs") : temp.Path;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        // The console's data comes through the API, which needs a reader's token: sent on every request the page makes.
        var page = await browser.NewPageAsync(new()
        {
            ViewportSize = new() { Width = 1280, Height = 900 },
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {TestPki.Shared.Token("console-reader", Role.Reader, ["*"])}" },
        });
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        page.Response += (_, r) => { if (r.Status >= 400) errors.Add($"{r.Status} {r.Url}"); };

        // One image per shard: the job page sees many progress events while the one silo works through them.
        var id = await api.SubmitJob(format: "csv", shardSize: 1);
        await page.GotoAsync($"{api.BaseUrl}/#/jobs/{id}");
        var seen = new List<long>();
        for (var deadline = DateTime.UtcNow.AddMinutes(10); ; await Task.Delay(100))
        {
            if (long.TryParse(await page.TextContentAsync("#done"), out var done) && (seen.Count == 0 || seen[^1] != done)) seen.Add(done);
            if (await page.TextContentAsync("#state") == "completed") break;
            Assert.True(DateTime.UtcNow < deadline, "the job page did not show the job completed in 10 minutes");
        }
        output.WriteLine($"done counts the page showed: {string.Join(", ", seen)}");
        Assert.True(seen.Count >= 2 && seen[0] < ApiSilo.Images, $"the progress did not move on the page: {string.Join(", ", seen)}");
        Assert.Equal(seen.Order(), seen); // never backwards

        // At the end: the counts of `dpiqa job summary ID --json`, run as a user would.
        await page.WaitForSelectorAsync("#summary-count");
        var cli = JsonNode.Parse(await Dpiqa("job", "summary", id, "--json"))!["all"]!;
        Assert.Equal(cli["count"]!.GetValue<long>().ToString(), await page.TextContentAsync("#summary-count"));
        Assert.Equal(cli["scored"]!.GetValue<long>().ToString(), await page.TextContentAsync("#summary-scored"));
        Assert.Equal(cli["failed"]!.GetValue<long>().ToString(), await page.TextContentAsync("#summary-failed"));
        Assert.Equal(cli["count"]!.GetValue<long>().ToString(), await page.TextContentAsync("#done"));
        Assert.Equal(ApiSilo.Images, cli["count"]!.GetValue<long>());
        // Thumbnails come through the API and decode in the browser.
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#worst img, #best img')].length > 0 && [...document.querySelectorAll('#worst img, #best img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Contains("decode", await page.TextContentAsync("#errors") ?? "");
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "console-job.png"), FullPage = true });

        // The jobs list: the job with its final counts.
        await page.GotoAsync($"{api.BaseUrl}/#/");
        var row = page.Locator($"tr[data-job='{id}']");
        await row.WaitForAsync();
        Assert.Equal($"{ApiSilo.Images}", await row.Locator("td.done").TextContentAsync());
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "console-jobs.png"), FullPage = true });

        // Schedules: one with a run (the run's counts and its drift check).
        var name = "console-" + Guid.NewGuid().ToString("N")[..6];
        var created = await api.Post("/api/v1/schedules", new Dictionary<string, object>
        {
            ["name"] = name, ["sources"] = new[] { $"{api.Container}/in" }, ["out"] = $"{api.Container}/sched-{name}", ["cron"] = "0 2 * * *",
            ["model"] = ApiSilo.Model, ["shard_size"] = 16, ["format"] = "csv", ["reject_bottom_percent"] = 10.0,
        });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.Status);
        var run = JsonNode.Parse((await api.Post($"/api/v1/schedules/{name}/run-now", null)).Body)!["job_id"]!.GetValue<string>();
        await api.Finished(run);
        await page.GotoAsync($"{api.BaseUrl}/#/schedules");
        await page.ReloadAsync();
        await page.Locator($"a[href='#/jobs/{run}']").WaitForAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(shots, "console-schedules.png"), FullPage = true });

        Assert.Empty(errors);
    }

    /// <summary>The CLI (as built in Client/bin) against the fixture's cluster; its stdout.</summary>
    private async Task<string> Dpiqa(params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        var config = AppContext.BaseDirectory.Contains("/Release/") ? "Release" : "Debug";
        psi.ArgumentList.Add(RepoPaths.Of($"Client/bin/{config}/net10.0/dpiqa.dll"));
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["Storage__ConnectionString"] = api.ConnectionString;
        psi.Environment["Cluster__ClusterId"] = api.ClusterId;
        foreach (var (key, value) in TestPki.Shared.ClientEnvironment()) psi.Environment[key] = value; // TLS and a token, as the cluster asks
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(p.ExitCode == 0, $"dpiqa {string.Join(' ', arguments)} exited {p.ExitCode}: {await stderr}");
        return await stdout;
    }
}
