using System.CommandLine;
using DpIqa.Client.Reports;
using DpIqa.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace DpIqa.Client.Commands;

/// <summary><c>dpiqa job report ID --out DIR [--compare OTHER]</c>: report.html for a job on a running cluster.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "Job id" };
        var output = new Option<string>("--out", "-o") { Description = "Local folder for report.html", Required = true };
        var compare = new Option<string?>("--compare") { Description = "Another job's id: overlay the two histograms and show the shift in percentiles (default for a schedule's run: the run before it)" };
        var command = new Command("report", "Write report.html: histogram, per-folder box plots, error kinds, worst and best images, summary tables")
        {
            id, output, compare,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var connection = await ClusterConnection.Open([]);
            var job = await Load(connection.Client, parse.GetValue(id)!);
            var other = parse.GetValue(compare) is { } otherId ? await Load(connection.Client, otherId)
                : job.Spec.PreviousJob is { } previous && await connection.Client.GetGrain<IJobGrain>(previous).GetSpec() is not null
                    ? await Load(connection.Client, previous) // a schedule's run is compared with the run before it
                    : null;
            var file = await JobReport.Write(Store(), job, Path.GetFullPath(parse.GetValue(output)!), other, cancellationToken);
            Console.WriteLine($"report: {file}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<ReportJob> Load(IClusterClient client, string id)
    {
        var grain = client.GetGrain<IJobGrain>(id);
        var spec = await grain.GetSpec() ?? throw new ArgumentException($"there is no job '{id}' in this cluster: check the id with 'dpiqa job list'");
        var status = await grain.GetStatus();
        var summary = status.State == JobState.Completed ? await grain.WaitForOutputs() : await grain.GetSummary();
        return new ReportJob(id, spec, status, summary, await grain.GetResultFiles());
    }

    /// <summary>The storage the job's results are in, configured as for 'dpiqa job results'.</summary>
    private static ObjectStore Store() => ClientSetup.ObjectStore();
}
