using System.Text.Json.Serialization;
using DpIqa.Imaging;
using DpIqa.Jobs;
using DpIqa.Models;
using DpIqa.Results;
using DpIqa.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace DpIqa.Silo.Http.Api;

/// <summary>One image of <c>GET /api/v1/jobs/{id}/images</c>.</summary>
internal sealed record RankedImage(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("score")] float Score,
    [property: JsonPropertyName("teacher_score")] float? TeacherScore,
    [property: JsonPropertyName("shard")] int Shard);

/// <summary>The answer of <c>GET /api/v1/jobs/{id}/images</c>.</summary>
internal sealed record RankedImages(
    [property: JsonPropertyName("order")] string Order,
    [property: JsonPropertyName("direction")] string Direction,
    [property: JsonPropertyName("images")] IReadOnlyList<RankedImage> Images);

/// <summary>
/// The images of a job for a person to look at (the web console uses these): the worst and best scored images, a
/// thumbnail of one image read from the job's source storage, and the keep/reject lists.
/// </summary>
internal static class JobImagesApi
{
    public const int MaxCount = 100;

    public static void Map(RouteGroupBuilder jobs)
    {
        jobs.MapGet("/{id}/images", Ranked).WithName("GetJobImages")
            .WithSummary("The worst or best scored images of the job's completed shards (order=worst|best, count up to 100), by the model's direction")
            .Produces<RankedImages>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status400BadRequest);
        jobs.MapGet("/{id}/thumbnail", Thumbnail).WithName("GetJobThumbnail")
            .WithSummary("A JPEG thumbnail (longer side 256) of one of the job's images, read from its source: shard and path as /images gives them")
            .Produces<byte[]>(StatusCodes.Status200OK, "image/jpeg").ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        jobs.MapGet("/{id}/lists/{list}", List).WithName("GetJobList")
            .WithSummary("The job's keep or reject list (list=keep|reject), one image per line, once its curation is written")
            .Produces<string>(StatusCodes.Status200OK, "text/plain").ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<RankedImages> Ranked(string id, string? order, int? count, [FromServices] IGrainFactory grains,
        [FromServices] ObjectStore store, [FromServices] ModelCatalog models, CancellationToken cancellationToken)
    {
        var job = await JobsApi.Existing(grains, id);
        order ??= "worst";
        if (order is not ("worst" or "best")) throw new ArgumentException($"unknown order {order}: use worst or best");
        int n = count ?? 12;
        if (n < 1 || n > MaxCount) throw new ArgumentException($"count {n} is out of range: use 1 to {MaxCount}");
        var spec = (await job.GetSpec())!;
        var summary = await job.GetSummary();
        // Worst is the low end only for a higher-is-better model: the direction is the model's, never assumed.
        string direction = ModelDirection(models, summary.Model);
        bool lowFirst = (order == "worst") == (direction != ModelManifest.LowerIsBetter);
        var ranked = new List<RankedImage>();
        foreach (var file in await job.GetResultFiles())
        {
            if (!JobLayout.TryParseResultName(Path.GetFileName(file.Replace('/', Path.DirectorySeparatorChar)), out int shard, out _)) continue;
            foreach (var r in await ResultFiles.Decode(await JobLayout.ReadShardFile(store, file, cancellationToken), spec.Format))
                if (r.Score is { } score) ranked.Add(new RankedImage(r.Path, score, r.TeacherScore, shard));
        }
        var sorted = lowFirst
            ? ranked.OrderBy(r => r.Score).ThenBy(r => r.Path, StringComparer.Ordinal)
            : ranked.OrderByDescending(r => r.Score).ThenBy(r => r.Path, StringComparer.Ordinal);
        return new RankedImages(order, direction, sorted.Take(n).ToList());
    }

    private static string ModelDirection(ModelCatalog models, string model)
    {
        try
        {
            return models.Manifest(model).Direction;
        }
        catch (ArgumentException)
        {
            return "unknown"; // the model left the catalog: ranked as higher-is-better, and the answer says the direction is unknown
        }
    }

    private static async Task<IResult> Thumbnail(string id, int shard, string path, [FromServices] IGrainFactory grains, [FromServices] ObjectStore store,
        CancellationToken cancellationToken)
    {
        var job = await JobsApi.Existing(grains, id);
        var spec = (await job.GetSpec())!;
        var status = await job.GetStatus();
        if (shard < 0 || shard >= status.Shards) throw new NotFoundException($"job {id} has no shard {shard}");
        var item = ItemList.Decode(await JobLayout.ReadShardFile(store, JobLayout.ItemListPath(spec.Output, shard), cancellationToken))
            .FirstOrDefault(i => i.Path == path) ?? throw new NotFoundException($"shard {shard} of job {id} has no image '{path}'");
        try
        {
            var jpeg = Thumbnails.Make(await store.Read(item.Location, cancellationToken), new ImageLimits());
            return TypedResults.File(jpeg, "image/jpeg");
        }
        catch (ImageError e)
        {
            return ApiErrors.Problem(StatusCodes.Status422UnprocessableEntity, "no thumbnail", $"'{path}' cannot be shown ({e.Kind.Name()}): {e.Message.Split('\n')[0]}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Azure.RequestFailedException { Status: 404 })
        {
            throw new NotFoundException($"'{path}' is no longer in the source ({e.Message.Split('\n')[0]})"); // changed or removed since it was scored
        }
    }

    private static async Task<IResult> List(string id, string list, [FromServices] IGrainFactory grains, [FromServices] ObjectStore store, CancellationToken cancellationToken)
    {
        var job = await JobsApi.Existing(grains, id);
        var spec = (await job.GetSpec())!;
        var location = list switch
        {
            "keep" => JobLayout.KeepList(spec.Output),
            "reject" => JobLayout.RejectList(spec.Output),
            _ => throw new ArgumentException($"unknown list {list}: use keep or reject"),
        };
        var content = await store.TryRead(location, cancellationToken)
            ?? throw new NotFoundException($"job {id} has no {list} list (yet): it is written when a job with a curation rule completes");
        return TypedResults.Bytes(content, "text/plain; charset=utf-8");
    }
}
