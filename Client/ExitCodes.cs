using Azure;
using DpIqa.Imaging;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace DpIqa.Client;

/// <summary>
/// The exit codes docs/cli.md promises, and the one mapping from a failure to a code and the single line a user
/// reads on stderr. Commands throw; only <see cref="Cli.Run"/> prints errors.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked (a job completed, even with error records).</summary>
    public const int Ok = 0;

    /// <summary>A job failed, or something outside the request went wrong (cluster, storage, disk).</summary>
    public const int Failed = 1;

    /// <summary>The request itself is wrong: bad option, unknown model or job, invalid name, missing source.</summary>
    public const int InvalidRequest = 2;

    /// <summary>
    /// The cluster refused the caller: no or a foreign TLS certificate, no, a damaged or an expired token, too small a
    /// role, or a container outside the identity's or the cluster's scope (docs/security.md).
    /// </summary>
    public const int Refused = 3;

    /// <summary>The user cancelled (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;

    /// <summary>The exit code of a command that waited for a job: only a completed job is success.</summary>
    public static int Of(JobState state) => state == JobState.Completed ? Ok : Failed;

    private const string CheckCluster =
        "check that the cluster's silos are running and that Cluster:ClusterId and Storage:ConnectionString (or Cluster:Gateways) match theirs, then retry";

    /// <summary>
    /// The exit code and the one line to print for a failure. <paramref name="cancelledByUser"/> tells a Ctrl+C
    /// apart from an operation that gave up on its own (an HTTP timeout also surfaces as a cancellation).
    /// </summary>
    public static (int Code, string Line) Describe(Exception exception, bool cancelledByUser)
    {
        var e = Unwrap(exception);
        if (Hosting.SettingsValidation.Describe(e) is { } setting) return (InvalidRequest, $"error: {setting}");
        return e switch
        {
            OperationCanceledException when cancelledByUser => (Cancelled, OneLine(e.Message).StartsWith("cancelled", StringComparison.Ordinal) ? OneLine(e.Message) : "cancelled"),
            ArgumentException => (InvalidRequest, $"error: {OneLine(e.Message)}"),
            AccessRefusedException or ClusterRefusedException => (Refused, $"error: {OneLine(e.Message)}"),
            RequestFailedException storage => Storage(storage),
            TimeoutException => (Failed, $"error: the cluster did not answer in time ({OneLine(e.Message)}); {CheckCluster}; a busy job keeps running, see 'dpiqa job status ID'"),
            OrleansException or ConnectionFailedException => (Failed, $"error: cannot talk to the cluster ({OneLine(e.Message)}); {CheckCluster}"),
            ClusterUnreachableException => (Failed, $"error: {OneLine(e.Message)}; {CheckCluster}"),
            ImageError image => (Failed, $"error ({image.Kind.Name()}): {OneLine(e.Message)}"),
            HttpRequestException => (Failed, $"error: cannot reach storage ({OneLine(e.Message)}); check Storage:ConnectionString and that the storage account (or Azurite) is up"),
            OperationCanceledException => (Failed, $"error: an operation gave up before it finished ({OneLine(e.Message)}); check that storage and the cluster are reachable, then retry"),
            _ => (Failed, $"error: {OneLine(e.Message)} (-v shows the stack trace)"),
        };
    }

    private static (int, string) Storage(RequestFailedException e)
    {
        var what = $"{e.Status}{(string.IsNullOrEmpty(e.ErrorCode) ? "" : " " + e.ErrorCode)}";
        return e.Status switch
        {
            0 => (Failed, $"error: cannot reach storage ({OneLine(e.Message)}); check Storage:ConnectionString and that the storage account (or Azurite) is up"),
            401 or 403 => (Failed, $"error: storage refused access ({what}); check the key or SAS in Storage:ConnectionString, or the identity's role on the account"),
            400 or 404 or 409 or 412 or 416 => (InvalidRequest, $"error: storage refused the request ({what}: {OneLine(e.Message)}); check the container and blob names"),
            _ => (Failed, $"error: storage failed ({what}: {OneLine(e.Message)}); retry later"),
        };
    }

    /// <summary>The failure that matters: the Azure SDK's retries and Task.WhenAll wrap it in an AggregateException.</summary>
    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: > 0 } aggregate) e = aggregate.InnerExceptions[0];
        return e;
    }

    /// <summary>
    /// The first line of a message: Azure's messages go on with status, headers and content lines that do not
    /// belong in a one-line error (they are in the trace with -v).
    /// </summary>
    internal static string OneLine(string message)
    {
        var line = message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return line.TrimEnd('.', ':');
    }
}
