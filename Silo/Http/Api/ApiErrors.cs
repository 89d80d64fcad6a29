using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace DpIqa.Silo.Http.Api;

/// <summary>A job or schedule the request names does not exist: 404 with the message.</summary>
internal sealed class NotFoundException(string message) : Exception(message);

/// <summary>The request is valid but the resource is not in a state for it (e.g. results of a running job): 409.</summary>
internal sealed class ConflictException(string message) : Exception(message);

/// <summary>
/// Turns every failure of an API call into an RFC 9457 problem+json answer with one line a person can act on: the
/// caller's mistakes (an <see cref="ArgumentException"/>, the same message the CLI prints) are 4xx, everything else 5xx.
/// Never a stack trace: that goes to the silo's log.
/// </summary>
internal sealed partial class ApiErrors(ILogger<ApiErrors> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return TypedResults.Empty; // the caller went away: nobody to answer
        }
        catch (Exception e)
        {
            var (status, title, detail) = Describe(e);
            if (status >= 500) LogFailed(logger, e, context.HttpContext.Request.Method, context.HttpContext.Request.Path, detail);
            return Problem(status, title, detail);
        }
    }

    /// <summary>A problem+json answer.</summary>
    public static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>The status, title and one-line detail for a failure.</summary>
    internal static (int Status, string Title, string Detail) Describe(Exception exception)
    {
        var e = exception;
        while (e is AggregateException { InnerExceptions.Count: > 0 } aggregate) e = aggregate.InnerExceptions[0];
        var line = OneLine(e.Message);
        return e switch
        {
            ArgumentException => (StatusCodes.Status400BadRequest, "invalid request", line),
            NotFoundException => (StatusCodes.Status404NotFound, "not found", line),
            ConflictException => (StatusCodes.Status409Conflict, "conflict", line),
            TimeoutException => (StatusCodes.Status504GatewayTimeout, "the cluster did not answer in time", $"{line}; a busy job keeps running, retry the call"),
            RequestFailedException { Status: 0 } => (StatusCodes.Status503ServiceUnavailable, "storage unreachable", $"cannot reach storage ({line}); check the silo's Storage:ConnectionString"),
            RequestFailedException storage => (StatusCodes.Status502BadGateway, "storage failed", $"storage answered {storage.Status} {storage.ErrorCode}: {line}"),
            HttpRequestException => (StatusCodes.Status503ServiceUnavailable, "storage unreachable", $"cannot reach storage ({line})"),
            OrleansException or SiloUnavailableException => (StatusCodes.Status503ServiceUnavailable, "cluster unavailable", $"the cluster cannot serve the call now ({line}); retry"),
            _ => (StatusCodes.Status500InternalServerError, "internal error", $"{line} (the silo's log has the details)"),
        };
    }

    private static string OneLine(string message) =>
        message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";

    [LoggerMessage(Level = LogLevel.Error, Message = "API {Method} {Path} failed: {Detail}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string path, string detail);
}
