using System.Globalization;
using System.Runtime.InteropServices;

namespace DpIqa.Bench;

/// <summary>
/// Where a process's memory is, for the memory bench's progress lines: RSS split into anonymous and file-backed
/// (from /proc/self/smaps), the GC's committed bytes, and glibc malloc's own totals (mallinfo2), so native growth
/// can be told apart from managed growth, and malloc fragmentation (free bytes kept in arenas) from live native data.
/// </summary>
internal static partial class NativeMemory
{
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 Mallinfo2();

    private static double Mib(double bytes) => bytes / 1048576.0;

    /// <summary>One line: anon and file RSS, GC committed, malloc arena bytes (in use / free), mmapped chunks, threads.</summary>
    public static string Describe()
    {
        long anonKb = 0, fileKb = 0, bigAnonKb = 0;
        int bigAnon = 0;
        bool anon = false;
        long sizeKb = 0;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (IsHeader(line))
            {
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                anon = parts.Length < 6 || parts[5].Trim() == "[heap]";
                continue;
            }
            if (line.StartsWith("Size:", StringComparison.Ordinal)) sizeKb = Kb(line);
            if (!line.StartsWith("Rss:", StringComparison.Ordinal)) continue;
            var rss = Kb(line);
            if (anon)
            {
                anonKb += rss;
                if (sizeKb >= 16 * 1024 && sizeKb < 64 * 1024 && rss >= 16 * 1024) { bigAnon++; bigAnonKb += rss; }
            }
            else fileKb += rss;
        }
        var m = Mallinfo2();
        var gc = GC.GetGCMemoryInfo();
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return FormattableString.Invariant(
            $"anon {anonKb / 1024.0:F0} MiB (of which {bigAnon} mappings of 16-64 MiB: {bigAnonKb / 1024.0:F0}), file {fileKb / 1024.0:F0} MiB, GC committed {Mib(gc.TotalCommittedBytes):F0} MiB (heap {Mib(gc.HeapSizeBytes):F0}, fragmented {Mib(gc.FragmentedBytes):F0}, large-object heap {Mib(gc.GenerationInfo[3].SizeAfterBytes):F0} of which fragmented {Mib(gc.GenerationInfo[3].FragmentationAfterBytes):F0}, gen2 GCs {GC.CollectionCount(2)}), malloc arenas {Mib(m.Arena):F0} MiB (in use {Mib(m.Uordblks):F0}, free {Mib(m.Fordblks):F0}), malloc mmapped {Mib(m.Hblkhd):F0} MiB in {m.Hblks}, threads {self.Threads.Count}");
    }

    // "7f12a000-7f12b000 rw-p 00000000 00:00 0    [path]"
    private static bool IsHeader(string line)
    {
        int dash = line.IndexOf('-', StringComparison.Ordinal), space = line.IndexOf(' ', StringComparison.Ordinal);
        return dash > 0 && space > dash && line.AsSpan(0, dash).ContainsAnyExcept("0123456789abcdef") == false;
    }

    private static long Kb(string line) =>
        long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}
