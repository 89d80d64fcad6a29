using DpIqa.Models;

namespace DpIqa.Client;

/// <summary>
/// A one-line progress bar on stderr when stderr is a terminal; otherwise (a log file, a pipe, CI) plain lines every
/// few seconds with no bar and no carriage returns, so a captured log reads as text.
/// </summary>
internal sealed class ProgressView(bool quiet, TextWriter output, bool terminal)
{
    private readonly bool _terminal = terminal;
    private DateTime _lastPlain = DateTime.MinValue;

    public ProgressView(bool quiet) : this(quiet, Console.Error, !Console.IsErrorRedirected) { }

    public void Header(JobSpec spec, ModelManifest model)
    {
        if (quiet) return;
        output.WriteLine($"model {model.Name} v{model.Version}: {model.Description}");
        output.WriteLine($"scoring {string.Join(", ", spec.Sources)} -> {spec.Output}");
    }

    public void Update(JobStatus s)
    {
        if (quiet) return;
        if (_terminal)
        {
            var line = Bar(s) + " " + Line(s);
            var width = Math.Max(40, SafeWidth() - 1);
            output.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
        }
        else if (DateTime.UtcNow - _lastPlain > TimeSpan.FromSeconds(5))
        {
            output.WriteLine(Line(s));
            _lastPlain = DateTime.UtcNow;
        }
    }

    public void Done(JobStatus final)
    {
        if (quiet) return;
        if (_terminal)
        {
            Update(final);
            output.WriteLine();
        }
        else
        {
            output.WriteLine(Line(final));
        }
    }

    /// <summary>The progress as text: done/total, failed, rate, ETA.</summary>
    internal static string Line(JobStatus s)
    {
        var total = s.ListingDone ? $"{s.Total}" : $"{s.Total}+";
        var eta = s.Eta is { } e ? $"ETA {e:hh\\:mm\\:ss}" : "ETA --";
        return $"{s.Done}/{total} done, {s.Failed} failed, {s.ImagesPerSecond:F1} img/s, {eta}";
    }

    /// <summary>The bar drawn before <see cref="Line"/> on a terminal.</summary>
    internal static string Bar(JobStatus s)
    {
        const int barWidth = 30;
        double fraction = s.Total == 0 ? 0 : (double)s.Done / s.Total;
        int filled = (int)Math.Round(fraction * barWidth);
        return $"[{new string('#', filled)}{new string('.', barWidth - filled)}]";
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 100; }
        catch (IOException) { return 100; }
    }
}
