using DpIqa.Models;

namespace DpIqa.Client;

/// <summary>A one-line progress bar on stderr when stderr is a terminal; periodic plain lines otherwise.</summary>
internal sealed class ProgressView(bool quiet)
{
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private DateTime _lastPlain = DateTime.MinValue;

    public void Header(JobSpec spec, ModelManifest model)
    {
        if (quiet) return;
        Console.Error.WriteLine($"model {model.Name} v{model.Version}: {model.Description}");
        Console.Error.WriteLine($"scoring {string.Join(", ", spec.Sources)} -> {spec.Output}");
    }

    public void Update(JobStatus s)
    {
        if (quiet) return;
        var line = Line(s);
        if (_terminal)
        {
            var width = Math.Max(40, SafeWidth() - 1);
            Console.Error.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
        }
        else if (DateTime.UtcNow - _lastPlain > TimeSpan.FromSeconds(5))
        {
            Console.Error.WriteLine(line);
            _lastPlain = DateTime.UtcNow;
        }
    }

    public void Done(JobStatus final)
    {
        if (quiet) return;
        if (_terminal)
        {
            Update(final);
            Console.Error.WriteLine();
        }
        else
        {
            Console.Error.WriteLine(Line(final));
        }
    }

    internal static string Line(JobStatus s)
    {
        const int barWidth = 30;
        double fraction = s.Total == 0 ? 0 : (double)s.Done / s.Total;
        int filled = (int)Math.Round(fraction * barWidth);
        var total = s.ListingDone ? $"{s.Total}" : $"{s.Total}+";
        var eta = s.Eta is { } e ? $"ETA {e:hh\\:mm\\:ss}" : "ETA --";
        return $"[{new string('#', filled)}{new string('.', barWidth - filled)}] {s.Done}/{total} done, {s.Failed} failed, {s.ImagesPerSecond:F1} img/s, {eta}";
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 100; }
        catch (IOException) { return 100; }
    }
}
