using DpIqa.Tests.Cluster;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DpIqa.Jobs;
using DpIqa.Results;
using Xunit.Abstractions;

namespace DpIqa.Tests.Api;

/// <summary>
/// The JSON API of a real silo process on Azurite: jobs (submit, refusals, list, status, progress as Server-Sent Events,
/// summary, results in three formats, cancel), schedules and models, against what the grains say.
/// </summary>
[Collection(ApiSiloCollection.Name)]
public sealed class ApiTests(ApiSilo api, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_api_takes_the_clusters_tokens_readers_read_operators_change_and_jobs_record_who_submitted_them()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        using var anonymous = new HttpClient { BaseAddress = new Uri(api.BaseUrl) };
        using (var refused = await anonymous.GetAsync("/api/v1/jobs"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("Basic", string.Join(" ", refused.Headers.WwwAuthenticate.Select(h => h.Scheme))); // a browser prompts for it
            Assert.Contains("Bearer", string.Join(" ", refused.Headers.WwwAuthenticate.Select(h => h.Scheme)));
        }
        using var reader = new HttpClient { BaseAddress = new Uri(api.BaseUrl) };
        reader.DefaultRequestHeaders.Authorization = new("Bearer", TestPki.Shared.Token("api-reader", Role.Reader, ["*"]));
        using (var listed = await reader.GetAsync("/api/v1/jobs")) Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        using (var body = new StringContent(JsonSerializer.Serialize(new { sources = new[] { $"{api.Container}/in" }, @out = $"{api.Container}/r-{Guid.NewGuid():N}" }), Encoding.UTF8, "application/json"))
        using (var submit = await reader.PostAsync("/api/v1/jobs", body))
            Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);

        // An operator's job records the operator, as a job submitted with dpiqa does.
        var id = await api.SubmitJob(format: "csv");
        var status = await api.GetJson($"/api/v1/jobs/{id}");
        Assert.Equal("api-operator", status["submitted_by"]!.GetValue<string>());
        await api.Finished(id);
    }

    [SkippableFact]
    public async Task A_submitted_job_streams_its_progress_to_the_end_and_its_summary_and_results_equal_the_jobs()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        var id = await api.SubmitJob(format: "jsonl");

        // Progress: events until the job ends; counts never go back; the last one is the finished job.
        var events = new List<JsonNode>();
        using (var stream = await api.Http.GetStreamAsync($"/api/v1/jobs/{id}/progress"))
        using (var reader = new StreamReader(stream))
        {
            string? kind = null;
            for (string? line; (line = await reader.ReadLineAsync()) is not null;)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) kind = line["event: ".Length..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    Assert.Equal("progress", kind);
                    events.Add(JsonNode.Parse(line["data: ".Length..])!);
                }
            }
        }
        output.WriteLine($"{events.Count} progress events; last {events[^1].ToJsonString()}");
        for (int i = 1; i < events.Count; i++) Assert.True(events[i]["done"]!.GetValue<long>() >= events[i - 1]["done"]!.GetValue<long>());
        Assert.All(events.SkipLast(1), e => Assert.False(e["finished"]!.GetValue<bool>()));
        var last = events[^1];
        var (status, summary) = await api.Finished(id);
        Assert.True(last["finished"]!.GetValue<bool>());
        Assert.Equal("completed", last["state"]!.GetValue<string>());
        Assert.Equal(ApiSilo.Images, last["total"]!.GetValue<long>());
        Assert.Equal(status.Done, last["done"]!.GetValue<long>());
        Assert.Equal(ApiSilo.Broken, last["failed"]!.GetValue<long>());

        // Status and summary: what the grain says, as dpiqa ... --json prints it.
        var statusJson = await api.GetJson($"/api/v1/jobs/{id}");
        Assert.Equal("completed", statusJson["state"]!.GetValue<string>());
        Assert.Equal(status.Scored, statusJson["scored"]!.GetValue<long>());
        JsonCompare.Equal(JsonNode.Parse(JsonSerializer.Serialize(summary, JobSummaryFile.Json)), await api.GetJson($"/api/v1/jobs/{id}/summary"));

        // The list has it.
        var list = (await api.GetJson("/api/v1/jobs")).AsArray();
        Assert.Contains(list, j => j!["job_id"]!.GetValue<string>() == id);

        // Results in every format: each image once, the scores of the job's own result files.
        var expected = (await JobLayout.ReadResults(Silo_Store(), await api.Client.GetGrain<IJobGrain>(id).GetResultFiles(), ResultFormat.Jsonl))
            .ToDictionary(r => r.Path, r => r.Score);
        foreach (var (format, type) in new[] { (ResultFormat.Csv, "text/csv"), (ResultFormat.Jsonl, "application/x-ndjson"), (ResultFormat.Parquet, "application/vnd.apache.parquet") })
        {
            using var response = await api.Http.GetAsync($"/api/v1/jobs/{id}/results?format={format.ToString().ToLowerInvariant()}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            var rows = await ResultFiles.Decode(await response.Content.ReadAsByteArrayAsync(), format);
            Assert.Equal(ApiSilo.Images, rows.Count);
            Assert.Equal(expected, rows.ToDictionary(r => r.Path, r => r.Score));
            Assert.Equal(ApiSilo.Broken, rows.Count(r => r.Status == ImageResult.Error));
        }
    }

    private DpIqa.Storage.ObjectStore Silo_Store() =>
        new(Microsoft.Extensions.Options.Options.Create(new DpIqa.Storage.StorageOptions { ConnectionString = api.ConnectionString }));

    [SkippableFact]
    public async Task A_refused_request_is_400_problem_json_with_the_CLIs_message_and_an_unknown_job_404()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        var good = new Dictionary<string, object> { ["sources"] = new[] { $"{api.Container}/in" }, ["out"] = $"{api.Container}/refused", ["model"] = ApiSilo.Model };

        // The CLI's words, from the same validation code.
        var tooBig = new Dictionary<string, object>(good) { ["shard_size"] = 0 };
        var message = Assert.Throws<ArgumentException>(() => JobRequestValidation.CheckShape(new JobSpec { Sources = ["x"], Model = "m", Output = "o", ShardSize = 0 }, 100_000)).Message;
        await Refused(tooBig, message.Split(':')[0]);
        await Refused(new Dictionary<string, object>(good) { ["model"] = "no-such-model" }, "no-such-model");
        await Refused(new Dictionary<string, object>(good) { ["sources"] = new[] { "Bad_Container!/x" } }, "--source Bad_Container!/x");
        await Refused(new Dictionary<string, object>(good) { ["band"] = 0.1 }, "--band sets the teacher cascade's band: add --cascade TEACHER");
        await Refused(new Dictionary<string, object>(good) { ["format"] = "xlsx" }, "unknown result format xlsx: use csv, jsonl or parquet");
        await Refused(new Dictionary<string, object>(good) { ["shard_sise"] = 10 }, "unknown field 'shard_sise'");
        await Refused("{not json", "not valid JSON");

        using var missing = await api.Http.GetAsync("/api/v1/jobs/no-such-job/summary");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Contains("there is no job 'no-such-job'", await missing.Content.ReadAsStringAsync());
    }

    private async Task Refused(object body, string expected)
    {
        var answer = await api.Post("/api/v1/jobs", body);
        output.WriteLine($"{answer.Status}: {answer.Body}");
        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        var problem = JsonNode.Parse(answer.Body)!;
        Assert.Equal(400, problem["status"]!.GetValue<int>());
        var detail = problem["detail"]!.GetValue<string>();
        Assert.Contains(expected, detail);
        Assert.DoesNotContain("\n", detail);
        Assert.DoesNotContain("   at ", detail); // no stack trace
        Assert.DoesNotContain("Exception", detail);
    }

    [SkippableFact]
    public async Task Cancel_ends_a_job_as_cancelled_and_results_of_an_unfinished_job_are_409()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        // One image per shard and cancelled at once: nearly always still running. One silo may still have finished it
        // first (no timing is assumed), so the check is that cancel answers the state the job then keeps.
        var id = await api.SubmitJob(shardSize: 1);
        var cancel = await api.Post($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.Status);
        var state = JsonNode.Parse(cancel.Body)!["state"]!.GetValue<string>();
        Assert.True(state is "cancelled" or "completed", cancel.Body); // a job that had already completed stays completed
        var status = await api.GetJson($"/api/v1/jobs/{id}");
        Assert.Equal(state, status["state"]!.GetValue<string>());
        if (state == "cancelled")
        {
            using var results = await api.Http.GetAsync($"/api/v1/jobs/{id}/results");
            Assert.Equal(HttpStatusCode.Conflict, results.StatusCode);
            Assert.Contains("results are merged once it completed", await results.Content.ReadAsStringAsync());
        }
    }

    [SkippableFact]
    public async Task Schedules_are_created_listed_shown_paused_resumed_run_and_deleted()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        var name = "api-" + Guid.NewGuid().ToString("N")[..6];
        var body = new Dictionary<string, object>
        {
            ["name"] = name, ["sources"] = new[] { $"{api.Container}/in/a" }, ["out"] = $"{api.Container}/sched-{name}",
            ["cron"] = "0 2 * * *", ["model"] = ApiSilo.Model, ["shard_size"] = 16, ["format"] = "csv", ["reject_bottom_percent"] = 10.0,
        };
        var badCron = await api.Post("/api/v1/schedules", new Dictionary<string, object>(body) { ["cron"] = "every night" });
        Assert.Equal(HttpStatusCode.BadRequest, badCron.Status);
        output.WriteLine(badCron.Body);

        var created = await api.Post("/api/v1/schedules", body);
        Assert.True(created.Status == HttpStatusCode.Created, created.Body);
        Assert.Contains((await api.GetJson("/api/v1/schedules")).AsArray(), s => s!["spec"]!["name"]!.GetValue<string>() == name);
        var shown = await api.GetJson($"/api/v1/schedules/{name}");
        Assert.Equal("0 2 * * *", shown["spec"]!["cron"]!.GetValue<string>());
        Assert.False(shown["paused"]!.GetValue<bool>());

        var paused = JsonNode.Parse((await api.Post($"/api/v1/schedules/{name}/pause", null)).Body)!;
        Assert.True(paused["paused"]!.GetValue<bool>());
        var resumed = JsonNode.Parse((await api.Post($"/api/v1/schedules/{name}/resume", null)).Body)!;
        Assert.False(resumed["paused"]!.GetValue<bool>());
        Assert.True(resumed["next_run"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow);

        var run = await api.Post($"/api/v1/schedules/{name}/run-now", null);
        Assert.True(run.Status == HttpStatusCode.OK, run.Body);
        var runId = JsonNode.Parse(run.Body)!["job_id"]!.GetValue<string>();
        var (status, _) = await api.Finished(runId);
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(ApiSilo.Jpegs / 2, status.Total);

        using var deleted = await api.Http.DeleteAsync($"/api/v1/schedules/{name}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        using var gone = await api.Http.GetAsync($"/api/v1/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [SkippableFact]
    public async Task Models_lists_the_catalog_with_its_default()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        var models = await api.GetJson("/api/v1/models");
        Assert.False(string.IsNullOrEmpty(models["default"]!.GetValue<string>()));
        Assert.Contains(models["models"]!.AsArray(), m => m!["name"]!.GetValue<string>() == ApiSilo.Model);
    }
}
