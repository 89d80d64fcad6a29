using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace DpIqa.Silo.Http;

/// <summary>
/// The web console at <c>/</c>: one HTML page, a stylesheet and a script embedded in the silo (no CDN, no build step).
/// It reads only the JSON API (<see cref="Api.ApiEndpoints"/>), so it shows what any API client sees.
/// </summary>
internal static class WebConsole
{
    private static readonly Assembly Self = typeof(WebConsole).Assembly;

    /// <summary>Maps <c>/</c> and <c>/console/{file}</c>; returns the group (attach authorization to it, as to the API's).</summary>
    public static RouteGroupBuilder MapWebConsole(this IEndpointRouteBuilder endpoints)
    {
        var console = endpoints.MapGroup("").ExcludeFromDescription();
        console.MapGet("/", () => File("index.html", "text/html; charset=utf-8"));
        console.MapGet("/console/console.css", () => File("console.css", "text/css; charset=utf-8"));
        console.MapGet("/console/console.js", () => File("console.js", "text/javascript; charset=utf-8"));
        return console;
    }

    private static IResult File(string name, string contentType)
    {
        using var stream = Self.GetManifestResourceStream("console/" + name)
            ?? throw new InvalidOperationException($"the console's {name} is not embedded in the silo (Silo.csproj EmbeddedResource)");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return TypedResults.Bytes(copy.ToArray(), contentType);
    }
}
