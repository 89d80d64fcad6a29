using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using DpIqa.Jobs;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace DpIqa.Silo.Http.Api;

/// <summary>
/// <c>/api/v1/jobs</c>: what <c>dpiqa job ...</c> does, over HTTP, on the same grains (submit, list, status, progress,
/// summary, results, cancel).
/// </summary>
internal static class JobsApi
{
    /// <summary>How often the progress stream reads the job's status; an event goes out on a change, and at least once a second.</summary>
    private static readonly TimeSpan ProgressPoll = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProgressBeat = TimeSpan.FromSeconds(1);

    public static void Map(RouteGroupBuilder jobs)
    {
        jobs.MapPost("/", Submit).WithName("SubmitJob").WithSummary("Submit a job (the fields and checks of dpiqa job submit)")
            .Accepts<JobRequest>("application/json").Produces<JobStatus>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest);
        jobs.MapGet("/", List).WithName("ListJobs").WithSummary("Jobs, active first, newest first").Produces<JobStatus[]>();
        jobs.MapGet("/{id}", Status).WithName("GetJob").WithSummary("A job's status: state, counts, images/s, ETA")
            .Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/progress", Progress).WithName("FollowJob")
            .WithSummary("Live progress as Server-Sent Events (event 'progress'; on a change and at least once a second) until the job ends")
            .Produces<JobProgress>(StatusCodes.Status200OK, "text/event-stream").ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/summary", Summary).WithName("GetJobSummary").WithSummary("The job's statistics (final once it completed), as summary.json")
            .Produces<JobSummary>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapGet("/{id}/results", Results).WithName("GetJobResults")
            .WithSummary("The merged per-image results of a completed job, streamed: format csv, jsonl or parquet (default: the job's)")
            .Produces<string>(StatusCodes.Status200OK, "text/csv", "application/x-ndjson", "application/vnd.apache.parquet")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/cancel", Cancel).WithName("CancelJob").WithSummary("Stop handing out shards; the job ends as cancelled")
            .Produces<JobStatus>().ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> Submit(HttpRequest request, [FromServices] IGrainFactory grains)
    {
        var body = await ApiJson.ReadBody<JobRequest>(request);
        // The caller's verified identity, as the grain-call filter stamps a client's: its scopes are checked at the start.
        var spec = body.ToSpec() with { SubmittedBy = TokenAuthentication.Caller(request.HttpContext.User) };
        var id = string.IsNullOrWhiteSpace(body.JobId) ? JobRequest.NewJobId() : body.JobId;
        var status = await grains.GetGrain<IJobGrain>(id).Start(spec); // validates (JobRequestValidation) as for the CLI
        return TypedResults.Created($"{ApiEndpoints.Prefix}/jobs/{Uri.EscapeDataString(id)}", status);
    }

    private static async Task<JobStatus[]> List([FromServices] IGrainFactory grains)
    {
        var ids = await grains.GetGrain<IJobIndexGrain>(IJobIndexGrain.Key).AllJobs();
        return await Task.WhenAll(ids.Select(i => grains.GetGrain<IJobGrain>(i).GetStatus()));
    }

    private static async Task<JobStatus> Status(string id, [FromServices] IGrainFactory grains) => await (await Existing(grains, id)).GetStatus();

    private static async Task<JobSummary> Summary(string id, [FromServices] IGrainFactory grains) => await (await Existing(grains, id)).GetSummary();

    private static async Task<JobStatus> Cancel(string id, [FromServices] IGrainFactory grains) => await (await Existing(grains, id)).Cancel();

    private static async Task<IResult> Progress(string id, [FromServices] IGrainFactory grains, CancellationToken cancellationToken)
    {
        var job = await Existing(grains, id);
        return TypedResults.ServerSentEvents(ProgressEvents(job, cancellationToken));
    }

    private static async IAsyncEnumerable<SseItem<string>> ProgressEvents(IJobGrain job, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        JobProgress? last = null;
        var sentAt = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = JobProgress.Of(await job.GetStatus());
            if (last is null || now.CountsDiffer(last) || DateTimeOffset.UtcNow - sentAt >= ProgressBeat)
            {
                yield return new SseItem<string>(JsonSerializer.Serialize(now, ApiJson.Options), "progress");
                last = now;
                sentAt = DateTimeOffset.UtcNow;
            }
            if (now.Finished) yield break; // the last event says finished: true
            await Task.Delay(ProgressPoll, cancellationToken);
        }
    }

    private static async Task<IResult> Results(string id, string? format, [FromServices] IGrainFactory grains, [FromServices] ObjectStore store, HttpResponse response, CancellationToken cancellationToken)
    {
        var job = await Existing(grains, id);
        var status = await job.GetStatus();
        var spec = (await job.GetSpec())!;
        if (status.State != JobState.Completed)
            throw new ConflictException($"job {status.JobId} is {status.State.ToString().ToLowerInvariant()}; results are merged once it completed");
        var target = format is null ? spec.Format : JobRequestValidation.Format(format);
        var files = await job.GetResultFiles(); // the counted run of each shard only
        response.ContentType = target switch
        {
            ResultFormat.Csv => "text/csv; charset=utf-8",
            ResultFormat.Jsonl => "application/x-ndjson; charset=utf-8",
            _ => "application/vnd.apache.parquet",
        };
        response.Headers.ContentDisposition = $"attachment; filename=\"{status.JobId}.{ResultFiles.Extension(target)}\"";
        if (target == ResultFormat.Parquet)
        {
            // A Parquet file ends with its footer over every row group, so it is made whole before it is sent.
            var all = await JobLayout.ReadResults(store, files, spec.Format, cancellationToken);
            await response.Body.WriteAsync(await ResultFiles.Encode(all, target), cancellationToken);
            return TypedResults.Empty;
        }
        // CSV and JSON lines go out shard by shard: memory stays one shard's whatever the job's size.
        bool first = true;
        foreach (var file in files)
        {
            var rows = await ResultFiles.Decode(await JobLayout.ReadShardFile(store, file, cancellationToken), spec.Format);
            var bytes = await ResultFiles.Encode(rows, target);
            int skip = target == ResultFormat.Csv && !first ? Array.IndexOf(bytes, (byte)'\n') + 1 : 0; // one header row
            await response.Body.WriteAsync(bytes.AsMemory(skip), cancellationToken);
            first = false;
        }
        if (first && target == ResultFormat.Csv)
            await response.Body.WriteAsync(await ResultFiles.Encode([], target), cancellationToken); // no shard: the header alone
        return TypedResults.Empty;
    }

    /// <summary>The job's grain; an id the cluster has never started is a 404, not a pending job.</summary>
    internal static async Task<IJobGrain> Existing([FromServices] IGrainFactory grains, string id)
    {
        var grain = grains.GetGrain<IJobGrain>(id);
        if (await grain.GetSpec() is null) throw new NotFoundException($"there is no job '{id}' in this cluster: see GET {ApiEndpoints.Prefix}/jobs");
        return grain;
    }
}
