using System.Text.Json;
using System.Text.Json.Serialization;
using DpIqa.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace DpIqa.Silo.Http.Api;

/// <summary>
/// The one place the JSON API is wired: every route lives in the one group <see cref="Prefix"/> that
/// <see cref="MapDpIqaApi"/> returns, so whatever guards the API (authentication, roles) is attached to that group and
/// no route changes.
/// </summary>
internal static class ApiEndpoints
{
    public const string Prefix = "/api/v1";

    /// <summary>The OpenAPI document's route (inside the group).</summary>
    public const string OpenApiDocument = Prefix + "/openapi.json";

    /// <summary>The API's services: JSON as the CLI's --json prints it (snake_case), problem+json errors, the OpenAPI document.</summary>
    public static IServiceCollection AddDpIqaApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        services.AddOpenApi(o =>
        {
            // /metrics, /healthz and /scaling are for operators and have their own docs; the document is the API's.
            o.ShouldInclude = d => d.RelativePath?.StartsWith(Prefix[1..] + "/", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "DpIqa cluster API";
                document.Info.Description = "Jobs, schedules and models of a DpIqa cluster: what the dpiqa CLI does, over HTTP.";
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>Maps the API and returns its group (attach authorization to it; every route is inside).</summary>
    public static RouteGroupBuilder MapDpIqaApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix).AddEndpointFilter<ApiErrors>();
        JobsApi.Map(api.MapGroup("/jobs").WithTags("jobs"));
        JobImagesApi.Map(api.MapGroup("/jobs").WithTags("jobs"));
        SchedulesApi.Map(api.MapGroup("/schedules").WithTags("schedules"));
        api.MapGet("/models", ([FromServices] ModelCatalog models) => new ModelList(models.DefaultModel, models.List()))
            .WithTags("models").WithName("ListModels").WithSummary("The models this cluster serves, their score range and direction");
        api.MapOpenApi("/openapi.json");
        return api;
    }
}

/// <summary>JSON of the API: snake_case names and enum values, as <c>dpiqa ... --json</c> and summary.json.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    /// <summary>Request bodies: an unknown field is refused (a misspelt option must not be dropped silently).</summary>
    private static readonly JsonSerializerOptions Strict = new(Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    public static JsonSerializerOptions Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return o;
    }

    /// <summary>The request's JSON body; a missing or malformed one is an <see cref="ArgumentException"/> (400).</summary>
    public static async Task<T> ReadBody<T>(HttpRequest request) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Strict, request.HttpContext.RequestAborted)
                ?? throw new ArgumentException("the request body is null: send a JSON object");
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            throw new ArgumentException(
                request.ContentLength == 0 ? "the request has no body: send a JSON object"
                : e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? $"unknown field '{field}' in the request body: {ApiEndpoints.OpenApiDocument} lists the fields"
                : field is not null ? $"field '{field}' of the request body has the wrong type or value: {ApiEndpoints.OpenApiDocument} lists the fields"
                : $"the request body is not valid JSON: send a JSON object ({ApiEndpoints.OpenApiDocument} lists the fields)");
        }
    }
}
