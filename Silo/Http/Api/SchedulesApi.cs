using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace DpIqa.Silo.Http.Api;

/// <summary><c>/api/v1/schedules</c>: what <c>dpiqa schedule ...</c> does (create, list, show, run-now, pause, resume, delete).</summary>
internal static class SchedulesApi
{
    public static void Map(RouteGroupBuilder schedules)
    {
        schedules.MapPost("/", Create).WithName("CreateSchedule").WithSummary("Create a schedule (the fields and checks of dpiqa schedule create)")
            .Accepts<ScheduleRequest>("application/json").Produces<ScheduleStatus>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest);
        schedules.MapGet("/", List).WithName("ListSchedules").WithSummary("Schedules with their next run and last runs").Produces<ScheduleStatus[]>();
        schedules.MapGet("/{name}", Show).WithName("GetSchedule").WithSummary("Definition, next run, and the last runs with their counts, scores and drift")
            .Produces<ScheduleStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        schedules.MapPost("/{name}/run-now", RunNow).WithName("RunScheduleNow").WithSummary("Start a run now (refused while a run is in progress)")
            .Produces<ScheduleRun>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status400BadRequest);
        schedules.MapPost("/{name}/pause", Pause).WithName("PauseSchedule").WithSummary("Start no runs until resumed")
            .Produces<ScheduleStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        schedules.MapPost("/{name}/resume", Resume).WithName("ResumeSchedule").WithSummary("Start runs again from the next occurrence")
            .Produces<ScheduleStatus>().ProducesProblem(StatusCodes.Status404NotFound);
        schedules.MapDelete("/{name}", Delete).WithName("DeleteSchedule").WithSummary("Remove the schedule (its runs' jobs and outputs stay)")
            .Produces<ScheduleDeleted>().ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> Create(HttpRequest request, [FromServices] IGrainFactory grains)
    {
        var spec = (await ApiJson.ReadBody<ScheduleRequest>(request)).ToSpec();
        spec = spec with { Job = spec.Job with { SubmittedBy = TokenAuthentication.Caller(request.HttpContext.User) } };
        var status = await grains.GetGrain<IScheduleGrain>(spec.Name).Create(spec);
        return TypedResults.Created($"{ApiEndpoints.Prefix}/schedules/{spec.Name}", status);
    }

    private static async Task<ScheduleStatus[]> List([FromServices] IGrainFactory grains)
    {
        var names = await grains.GetGrain<IScheduleIndexGrain>(IScheduleIndexGrain.Key).All();
        return (await Task.WhenAll(names.Select(n => grains.GetGrain<IScheduleGrain>(n).GetStatus()))).OfType<ScheduleStatus>().ToArray();
    }

    private static async Task<ScheduleStatus> Show(string name, [FromServices] IGrainFactory grains) => (await Existing(grains, name)).Status;

    private static async Task<ScheduleRun> RunNow(string name, [FromServices] IGrainFactory grains) => await (await Existing(grains, name)).Grain.RunNow();

    private static async Task<ScheduleStatus> Pause(string name, [FromServices] IGrainFactory grains) => await (await Existing(grains, name)).Grain.Pause();

    private static async Task<ScheduleStatus> Resume(string name, [FromServices] IGrainFactory grains) => await (await Existing(grains, name)).Grain.Resume();

    private static async Task<ScheduleDeleted> Delete(string name, [FromServices] IGrainFactory grains)
    {
        await (await Existing(grains, name)).Grain.Delete();
        return new ScheduleDeleted(name);
    }

    private static async Task<(IScheduleGrain Grain, ScheduleStatus Status)> Existing([FromServices] IGrainFactory grains, string name)
    {
        Schedules.ScheduleGrain.CheckName(name);
        var grain = grains.GetGrain<IScheduleGrain>(name);
        var status = await grain.GetStatus() ?? throw new NotFoundException($"there is no schedule '{name}' in this cluster: see GET {ApiEndpoints.Prefix}/schedules");
        return (grain, status);
    }
}
