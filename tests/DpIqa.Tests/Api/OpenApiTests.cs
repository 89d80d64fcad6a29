using System.Net;
using System.Text.Json.Nodes;
using DpIqa.Silo.Http.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Xunit.Abstractions;

namespace DpIqa.Tests.Api;

/// <summary>
/// /api/v1/openapi.json of the silo process documents exactly the routes the API maps (the same mapping code, built
/// here in-process to list its endpoints), and every documented route answers on the silo (no routing 404/405).
/// </summary>
[Collection(ApiSiloCollection.Name)]
public sealed class OpenApiTests(ApiSilo api, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_openapi_document_lists_every_route_the_api_maps_and_no_other()
    {
        Skip.If(api.SkipReason is not null, api.SkipReason);
        var document = await api.GetJson(ApiEndpoints.OpenApiDocument);
        Assert.StartsWith("3.", document["openapi"]!.GetValue<string>());
        var documented = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}"))
            .Order(StringComparer.Ordinal).ToList();

        var mapped = MappedRoutes().Where(r => !r.EndsWith(ApiEndpoints.OpenApiDocument, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        output.WriteLine(string.Join('\n', mapped));
        Assert.Equal(mapped, documented);

        // Each documented route answers on the real silo: an unknown id gives the API's own problem+json, never a routing miss.
        foreach (var route in documented)
        {
            var (method, path) = (route.Split(' ')[0], route.Split(' ')[1].Replace("{id}", "no-such-job").Replace("{name}", "no-such-schedule"));
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            using var response = await api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.NotEqual(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            if (response.StatusCode == HttpStatusCode.NotFound)
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType); // the API's 404, not routing's
        }
    }

    /// <summary>"METHOD /path" of every endpoint <see cref="ApiEndpoints.MapDpIqaApi"/> maps.</summary>
    private static IEnumerable<string> MappedRoutes()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddDpIqaApi();
        using var app = builder.Build();
        app.MapDpIqaApi();
        return ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => $"{m} {Trim(e.RoutePattern.RawText!)}"))
            .ToList();
    }

    /// <summary>Group prefixes join as "/api/v1/jobs/" + "/": OpenAPI writes "/api/v1/jobs".</summary>
    private static string Trim(string pattern) => pattern.Length > 1 ? pattern.TrimEnd('/') : pattern;
}
