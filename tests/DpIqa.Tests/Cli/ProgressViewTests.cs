using DpIqa.Client;

namespace DpIqa.Tests.Cli;

/// <summary>
/// The progress bar is drawn only on a terminal. Where stderr is a file or a pipe (CI logs, <c>2&gt;log</c>) dpiqa
/// writes plain progress lines: no bar, no carriage returns (a real run with stderr redirected:
/// <see cref="Docs.DocsSampleOutputTests"/>).
/// </summary>
public sealed class ProgressViewTests
{
    private static JobStatus Status(long done) =>
        new() { JobId = "j", State = JobState.Running, Total = 10, ListingDone = true, Scored = done, ImagesPerSecond = 2.5 };

    [Fact]
    public void On_a_terminal_the_bar_is_redrawn_in_place()
    {
        var output = new StringWriter();
        var view = new ProgressView(quiet: false, output, terminal: true);
        view.Update(Status(5));
        view.Done(Status(10));
        var text = output.ToString();
        Assert.StartsWith("\r[###############...............] 5/10 done", text);
        Assert.Contains("\r[##############################] 10/10 done", text);
    }

    [Fact]
    public void Elsewhere_progress_is_plain_lines_without_a_bar()
    {
        var output = new StringWriter();
        var view = new ProgressView(quiet: false, output, terminal: false);
        view.Update(Status(5));
        view.Done(Status(10));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["5/10 done, 0 failed, 2.5 img/s, ETA --", "10/10 done, 0 failed, 2.5 img/s, ETA --"], lines);
    }
}
