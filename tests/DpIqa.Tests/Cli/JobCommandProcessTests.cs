using System.Diagnostics;
using DpIqa.Client;
using DpIqa.Hosting;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace DpIqa.Tests.Cli;

/// <summary>
/// The built <c>dpiqa</c> as a process against a real cluster (an in-process silo with Azure Table membership on
/// Azurite): exit codes and stderr as a shell sees them. Unknown job ids exit 2 for every job command, a real
/// job is found, and storage that refuses the account key exits 1 with one line.
/// </summary>
public sealed class JobCommandProcessTests(DpiqaCluster cluster, ITestOutputHelper output) : IClassFixture<DpiqaCluster>
{
    /// <summary>Runs dpiqa in the cluster's work folder (no dpiqa.json) with its connection, or another connection string.</summary>
    private Task<(int Code, string Out, string[] Err)> Dpiqa(string[] args, string? connectionString = null) =>
        cluster.Run(output, args, connectionString is null ? null : new Dictionary<string, string> { ["Storage__ConnectionString"] = connectionString });

    [SkippableFact]
    public async Task Every_job_command_says_there_is_no_such_job_and_exits_2_while_a_real_job_is_found()
    {
        Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);
        var unknown = "no-such-job-" + Guid.NewGuid().ToString("N")[..6];
        string[][] commands =
        [
            ["job", "status", unknown], ["job", "watch", unknown], ["job", "summary", unknown],
            ["job", "cancel", unknown], ["job", "results", unknown, "--out", Path.Combine(cluster.WorkFolder, "r.csv")],
        ];
        foreach (var (code, _, err) in await Task.WhenAll(commands.Select(c => Dpiqa(c))))
        {
            Assert.Equal(ExitCodes.InvalidRequest, code);
            Assert.Equal([$"error: there is no job '{unknown}' in this cluster: check the id with 'dpiqa job list'"], err);
        }
        Assert.False(File.Exists(Path.Combine(cluster.WorkFolder, "r.csv")));

        var verbose = await Dpiqa(["job", "status", unknown, "-v"]);
        Assert.Equal(ExitCodes.InvalidRequest, verbose.Code);
        Assert.StartsWith($"error: there is no job '{unknown}'", verbose.Err[0]);
        Assert.Contains(verbose.Err, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));

        // The control: a job that exists is found by the same commands.
        var container = "cli-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(ExitCodes.Ok, (await Dpiqa(["upload", RepoPaths.Photos, "--to", $"{container}/photos"])).Code);
        var submit = await Dpiqa(["job", "submit", "--source", $"{container}/photos", "--out", $"{container}/out", "--shard-size", "4", "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, submit.Code);
        var jobId = submit.Out.Trim();
        var watch = await Dpiqa(["job", "watch", jobId]);
        Assert.Equal(ExitCodes.Ok, watch.Code);
        var status = await Dpiqa(["job", "status", jobId]);
        Assert.Equal(ExitCodes.Ok, status.Code);
        Assert.StartsWith($"job {jobId}: completed", status.Out);
        Assert.Empty(status.Err);
    }

    [SkippableFact]
    public async Task Storage_that_refuses_the_account_key_exits_1_with_one_line()
    {
        Skip.If(cluster.Azurite.SkipReason is not null, cluster.Azurite.SkipReason);
        // Azurite checks shared-key signatures: the same account with another key is refused (403).
        var wrongKey = cluster.Azurite.ConnectionString.Replace("AccountKey=", "AccountKey=AAAA", StringComparison.Ordinal);
        var (code, _, err) = await Dpiqa(["upload", RepoPaths.Photos, "--to", "cli-refused/photos"], wrongKey);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Single(err);
        Assert.StartsWith("error: storage refused access (403", err[0]);
    }
}
