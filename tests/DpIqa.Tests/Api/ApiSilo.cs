using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using DpIqa.Client;
using DpIqa.Tests.Cluster;
using SkiaSharp;

namespace DpIqa.Tests.Api;

/// <summary>
/// One real silo process (scoring on, the proxy model) on Azurite, shared by every API, console and example test: a
/// blob container <see cref="Container"/> holds <see cref="Images"/> small JPEGs in two folders and two broken files.
/// </summary>
public sealed class ApiSilo : IAsyncLifetime
{
    public const string Model = "proxy-sharpness";
    public const int Jpegs = 60;
    public const int Broken = 2;
    public const int Images = Jpegs + Broken;

    private readonly Azurite _azurite = new();
    private SiloProcess? _silo;
    private ClusterConnection? _connection;
    public string ClusterId { get; } = "api-" + Guid.NewGuid().ToString("N")[..8];

    public string? SkipReason => _azurite.SkipReason;
    public string Container { get; } = "api-" + Guid.NewGuid().ToString("N")[..8];
    public string ConnectionString => _azurite.ConnectionString;
    internal SiloProcess Silo => _silo ?? throw new InvalidOperationException(SkipReason);
    public string BaseUrl => $"http://127.0.0.1:{Silo.HttpPort}";
    public IClusterClient Client => _connection?.Client ?? throw new InvalidOperationException(SkipReason);
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromMinutes(3) };
    /// <summary>The token <see cref="Http"/> sends: an operator's, named <c>api-operator</c>.</summary>
    public string OperatorToken { get; } = TestPki.Shared.Token("api-operator", Role.Operator, ["*"]);

    public async Task InitializeAsync()
    {
        if (SkipReason is not null) return;
        var container = new BlobServiceClient(ConnectionString).GetBlobContainerClient(Container);
        await container.CreateAsync();
        var images = Enumerable.Range(0, Jpegs).Select(i => ($"in/{"ab"[i % 2]}/img-{i:D3}.jpg", SmallJpeg(i))).ToList();
        images.Add(("in/broken/text.jpg", "not an image"u8.ToArray()));
        images.Add(("in/broken/empty.png", []));
        await Parallel.ForEachAsync(images, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (image, ct) => await container.UploadBlobAsync(image.Item1, BinaryData.FromBytes(image.Item2), ct));
        _silo = SiloProcess.Start(ConnectionString, ClusterId);
        Http.BaseAddress = new Uri(BaseUrl);
        // The API takes the cluster's tokens: an operator may do everything these tests do (ApiTests checks the refusals).
        Http.DefaultRequestHeaders.Authorization = new("Bearer", OperatorToken);
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(300))
        {
            if (await _silo.Get("/healthz/ready") is { Status: HttpStatusCode.OK }) break;
            if (_silo.Process.HasExited || DateTime.UtcNow > deadline) throw new InvalidOperationException($"the silo did not become ready: {_silo.Describe()}");
        }
        _connection = await SiloProcess.Connect(ConnectionString, ClusterId);
    }

    private static byte[] SmallJpeg(int i)
    {
        using var photo = SKBitmap.Decode(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"));
        using var small = photo.Resize(new SKImageInfo(48 + i % 11, 36 + i % 5), new SKSamplingOptions(SKFilterMode.Linear));
        using var data = small.Encode(SKEncodedImageFormat.Jpeg, 60 + i % 30);
        return data.ToArray();
    }

    /// <summary>POSTs a JSON body; the answer's status and body.</summary>
    public async Task<(HttpStatusCode Status, string ContentType, string Body)> Post(string path, object? body)
    {
        using var content = new StringContent(body is string s ? s : JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(path, content);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", await response.Content.ReadAsStringAsync());
    }

    /// <summary>GET that must answer 200 with JSON.</summary>
    public async Task<JsonNode> GetJson(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>A job through the API on the fixture's images (the proxy model, small shards); its id.</summary>
    public async Task<string> SubmitJob(string format = "csv", int shardSize = 4)
    {
        var answer = await Post("/api/v1/jobs", new Dictionary<string, object>
        {
            ["sources"] = new[] { $"{Container}/in" }, ["out"] = $"{Container}/out-{Guid.NewGuid():N}", ["model"] = Model,
            ["format"] = format, ["shard_size"] = shardSize,
        });
        Assert.True(answer.Status == HttpStatusCode.Created, $"{answer.Status} {answer.Body}");
        return JsonNode.Parse(answer.Body)!["job_id"]!.GetValue<string>();
    }

    /// <summary>Waits for the job's outputs (the 10-minute limit guards a job that never ends; no timing check).</summary>
    public async Task<(JobStatus Status, JobSummary Summary)> Finished(string jobId)
    {
        var job = Client.GetGrain<IJobGrain>(jobId);
        for (var deadline = DateTime.UtcNow.AddMinutes(10); !(await job.GetStatus()).IsFinished; await Task.Delay(200))
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {jobId} did not end in 10 minutes");
        var summary = await job.WaitForOutputs();
        return (await job.GetStatus(), summary);
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        _silo?.Dispose();
        _azurite.Dispose();
        Http.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ApiSiloCollection : ICollectionFixture<ApiSilo>
{
    public const string Name = "api silo";
}

/// <summary>JSON documents compared by value: numbers as doubles (Python and .NET both print the shortest round trip).</summary>
internal static class JsonCompare
{
    public static void Equal(JsonNode? expected, JsonNode? actual, string path = "$")
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected null, got {actual?.ToJsonString()}");
                break;
            case JsonObject e:
                var a = Assert.IsType<JsonObject>(actual);
                Assert.True(e.Select(p => p.Key).Order().SequenceEqual(a.Select(p => p.Key).Order()),
                    $"{path}: keys {string.Join(",", e.Select(p => p.Key))} vs {string.Join(",", a.Select(p => p.Key))}");
                foreach (var (key, value) in e) Equal(value, a[key], $"{path}.{key}");
                break;
            case JsonArray e:
                var arr = Assert.IsType<JsonArray>(actual);
                Assert.True(e.Count == arr.Count, $"{path}: {e.Count} items vs {arr.Count}");
                for (int i = 0; i < e.Count; i++) Equal(e[i], arr[i], $"{path}[{i}]");
                break;
            case JsonValue e when e.GetValueKind() == JsonValueKind.Number:
                Assert.True(actual is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() == e.GetValue<double>(),
                    $"{path}: {e.ToJsonString()} vs {actual?.ToJsonString()}");
                break;
            default:
                Assert.True(expected.ToJsonString() == actual?.ToJsonString(), $"{path}: {expected.ToJsonString()} vs {actual?.ToJsonString()}");
                break;
        }
    }
}
