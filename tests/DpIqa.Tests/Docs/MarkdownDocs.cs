using System.Text;
using System.Text.RegularExpressions;

namespace DpIqa.Tests.Docs;

/// <summary>
/// Reads the project's Markdown the way GitHub renders it: headings and their anchors, relative links, and the shell
/// blocks marked runnable. Every check returns the problems it found as lines "FILE: what is wrong", so a failing
/// test names each one.
/// </summary>
internal static partial class MarkdownDocs
{
    /// <summary>The line that marks the ```sh block right after it as runnable as pasted.</summary>
    public const string RunnableMarker = "<!-- runnable -->";

    /// <summary>README.md and every page under docs/, as paths relative to the repository root.</summary>
    public static IReadOnlyList<string> Pages(string root) =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md")
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal)).ToList();

    /// <summary>GitHub's anchor for a heading: lower case, punctuation other than '-' and '_' dropped, spaces to '-'.</summary>
    public static string Slug(string heading)
    {
        var text = new StringBuilder();
        foreach (var c in heading.Trim().ToLowerInvariant())
            if (char.IsLetterOrDigit(c) || c is '-' or '_') text.Append(c);
            else if (c == ' ') text.Append('-');
        return text.ToString();
    }

    /// <summary>The lines of a page outside fenced code blocks (headings and links inside code do not count).</summary>
    private static IEnumerable<string> ProseLines(string markdown)
    {
        var fenced = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (!fenced) yield return line;
        }
    }

    /// <summary>The anchors of a page's headings; a repeated heading gets -1, -2, ... as on GitHub.</summary>
    public static HashSet<string> Anchors(string markdown)
    {
        var seen = new Dictionary<string, int>();
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in ProseLines(markdown))
        {
            var m = HeadingPattern().Match(line);
            if (!m.Success) continue;
            var slug = Slug(m.Groups[1].Value);
            var n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>
    /// Every relative link (and image) in the pages that does not resolve: a missing file, or an anchor that no heading of
    /// its page makes. <paramref name="read"/> gives a page's text by its repository-relative path, or null when it does
    /// not exist (so the check can run on pages made up by a test).
    /// </summary>
    public static List<string> BrokenLinks(IEnumerable<string> pages, Func<string, string?> read, Func<string, bool> exists)
    {
        var problems = new List<string>();
        var anchorCache = new Dictionary<string, HashSet<string>?>();
        HashSet<string>? AnchorsOf(string page) =>
            anchorCache.TryGetValue(page, out var a) ? a : anchorCache[page] = read(page) is { } text ? Anchors(text) : null;
        foreach (var page in pages)
        {
            var text = read(page) ?? throw new FileNotFoundException(page);
            foreach (var line in ProseLines(text))
                foreach (Match m in LinkPattern().Matches(line))
                {
                    var target = m.Groups[1].Value;
                    if (SchemePattern().IsMatch(target)) continue; // https:, mailto:
                    var hash = target.IndexOf('#');
                    var (file, anchor) = hash < 0 ? (target, "") : (target[..hash], target[(hash + 1)..]);
                    var resolved = file.Length == 0 ? page : Normalize(Path.GetDirectoryName(page)!, file);
                    if (file.Length > 0 && !exists(resolved))
                    {
                        problems.Add($"{page}: links to {target}, but {resolved} does not exist");
                        continue;
                    }
                    if (anchor.Length == 0 || !resolved.EndsWith(".md", StringComparison.Ordinal)) continue;
                    if (AnchorsOf(resolved) is { } anchors && !anchors.Contains(anchor))
                        problems.Add($"{page}: links to {target}, but {resolved} has no heading with the anchor #{anchor}");
                }
        }
        return problems;
    }

    private static string Normalize(string directory, string relative)
    {
        var parts = new List<string>();
        foreach (var part in (directory.Length == 0 ? relative : directory + "/" + relative).Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == ".." && parts.Count > 0) parts.RemoveAt(parts.Count - 1);
            else parts.Add(part);
        }
        return string.Join('/', parts);
    }

    /// <summary>The commands of every ```sh block that follows the runnable marker, one entry per command (continuations joined).</summary>
    public static List<(string Page, List<string> Commands)> RunnableBlocks(string page, string markdown)
    {
        var blocks = new List<(string, List<string>)>();
        var lines = markdown.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != RunnableMarker) continue;
            int j = i + 1;
            while (j < lines.Length && lines[j].Trim().Length == 0) j++;
            var commands = new List<string>();
            if (j < lines.Length && lines[j].Trim() == "```sh")
            {
                var pending = "";
                for (j++; j < lines.Length && !lines[j].TrimStart().StartsWith("```", StringComparison.Ordinal); j++)
                {
                    var line = lines[j].Trim();
                    if (line.EndsWith('\\')) { pending += line[..^1] + " "; continue; }
                    line = pending + line;
                    pending = "";
                    if (line.Length > 0 && !line.StartsWith('#')) commands.Add(line);
                }
            }
            else commands.Add("(the marker is not followed by a ```sh block)");
            blocks.Add((page, commands));
        }
        return blocks;
    }

    /// <summary>
    /// Why a command of a runnable block would not run in a clone of this repository, or null when it would: it must be
    /// <c>dotnet run --project P</c>, <c>dotnet build|test P</c> with P there, <c>dotnet FOLDER/bin/.../NAME.dll</c> after
    /// a <c>dotnet build</c> of FOLDER in the same block, a script of the repository, or <c>/usr/bin/python3</c> running one.
    /// Anything else (such as <c>dpiqa</c>, which is not on PATH) is refused.
    /// </summary>
    public static string? WhyNotRunnable(string command, IReadOnlyList<string> earlier, Func<string, bool> exists)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => EnvPattern().IsMatch(w)).ToList();
        if (words.Count == 0) return "sets variables but runs nothing";
        var program = words[0];
        if (program == "dotnet")
        {
            var verb = words.ElementAtOrDefault(1) ?? "";
            if (verb == "run")
            {
                var project = words.SkipWhile(w => w != "--project").ElementAtOrDefault(1);
                return project is null ? "dotnet run without --project" : exists(project) ? null : $"project {project} does not exist";
            }
            if (verb is "build" or "test")
            {
                string? target = null;
                for (int i = 2; i < words.Count && target is null; i++)
                {
                    if (ValueOptions.Contains(words[i])) i++;
                    else if (!words[i].StartsWith('-')) target = words[i];
                }
                return target is null || exists(target) ? null : $"{target} does not exist";
            }
            if (verb.EndsWith(".dll", StringComparison.Ordinal))
            {
                var folder = verb.Split('/')[0];
                return earlier.Any(e => e.StartsWith("dotnet build", StringComparison.Ordinal) && e.Split(' ').Contains(folder))
                    ? null : $"{verb} is only there after 'dotnet build {folder}' earlier in the same block";
            }
            return $"'dotnet {verb}' is not a command these checks know";
        }
        if (program is "/usr/bin/python3" or "python3")
        {
            var script = words.ElementAtOrDefault(1);
            return script is not null && exists(script) ? null : $"python script {script} does not exist";
        }
        if (program.Contains('/'))
        {
            var path = program.StartsWith("./", StringComparison.Ordinal) ? program[2..] : program;
            return exists(path) ? null : $"{program} does not exist";
        }
        return $"'{program}' is not a command in a clone of this repository (dpiqa is run as 'dotnet run --project Client --')";
    }

    /// <summary>Options of <c>dotnet build|test</c> that take a value, so the value is not mistaken for the project.</summary>
    private static readonly HashSet<string> ValueOptions =
        ["-c", "--configuration", "-f", "--framework", "-o", "--output", "-v", "--verbosity", "--filter", "--logger", "--results-directory", "-r", "--runtime"];

    [GeneratedRegex(@"^#{1,6}\s+(.*?)\s*#*\s*$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex SchemePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*=\S*$")]
    private static partial Regex EnvPattern();
}
