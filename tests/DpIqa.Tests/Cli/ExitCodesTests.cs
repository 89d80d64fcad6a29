using Azure;
using DpIqa.Client;
using Orleans.Runtime;

namespace DpIqa.Tests.Cli;

/// <summary>
/// The failures the tests cannot provoke cheaply through a real cluster (a grain call timing out, a silo gone, a
/// storage 5xx) map to the documented code and ONE line that says what to check.
/// </summary>
public sealed class ExitCodesTests
{
    private static void AssertOneLine(string line)
    {
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("   at ", line);
    }

    [Fact]
    public void A_grain_call_timeout_exits_1_and_says_to_check_the_silos()
    {
        var (code, line) = ExitCodes.Describe(new TimeoutException("Response did not arrive on time in 00:00:30 for message: Request ... \nmore"), cancelledByUser: false);
        Assert.Equal(ExitCodes.Failed, code);
        AssertOneLine(line);
        Assert.Contains("did not answer in time", line);
        Assert.Contains("silos are running", line);
    }

    [Fact]
    public void A_lost_silo_or_connection_exits_1_and_says_what_to_check()
    {
        foreach (var e in new Exception[] { new SiloUnavailableException("silo S127.0.0.1:11111:1 is unavailable"), new Orleans.Runtime.Messaging.ConnectionFailedException("Unable to connect to any of the 1 available gateways.") })
        {
            var (code, line) = ExitCodes.Describe(e, cancelledByUser: false);
            Assert.Equal(ExitCodes.Failed, code);
            AssertOneLine(line);
            Assert.Contains("Cluster:ClusterId", line);
        }
    }

    [Theory]
    [InlineData(400, "InvalidResourceName", ExitCodes.InvalidRequest, "check the container and blob names")]
    [InlineData(404, "ContainerNotFound", ExitCodes.InvalidRequest, "check the container and blob names")]
    [InlineData(403, "AuthorizationFailure", ExitCodes.Failed, "Storage:ConnectionString")]
    [InlineData(503, "ServerBusy", ExitCodes.Failed, "retry later")]
    [InlineData(0, null, ExitCodes.Failed, "cannot reach storage")]
    public void Storage_errors_map_by_status_to_one_line(int status, string? errorCode, int expectedCode, string expected)
    {
        // Azure's messages carry status, error code and headers on further lines.
        var e = new RequestFailedException(status, "The specifed resource name contains invalid characters.\nRequestId:1\nTime:2026\r\nStatus: 400\nHeaders: ...", errorCode, null);
        var (code, line) = ExitCodes.Describe(new AggregateException(e), cancelledByUser: false);
        Assert.Equal(expectedCode, code);
        AssertOneLine(line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("Headers", line);
    }

    [Fact]
    public void Only_a_users_cancellation_is_130_and_anything_unexpected_is_1_pointing_at_verbose()
    {
        Assert.Equal(ExitCodes.Cancelled, ExitCodes.Describe(new TaskCanceledException(), cancelledByUser: true).Code);
        var (code, line) = ExitCodes.Describe(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"), cancelledByUser: false);
        Assert.Equal(ExitCodes.Failed, code); // an HTTP timeout is not the user's Ctrl+C
        AssertOneLine(line);
        (code, line) = ExitCodes.Describe(new NullReferenceException(), cancelledByUser: false);
        Assert.Equal(ExitCodes.Failed, code);
        Assert.Contains("-v", line);
        Assert.Equal(ExitCodes.InvalidRequest, ExitCodes.Describe(new AggregateException(new ArgumentException("bad")), cancelledByUser: false).Code);
    }
}
