using System.Runtime.InteropServices;

namespace DpIqa.Scoring;

/// <summary>
/// glibc malloc's resident free space in a scoring process. glibc gives each thread that allocates an arena of its own,
/// up to 8 per core; the decoders (libjpeg in SkiaSharp) and ONNX Runtime allocate from many pool threads, and each
/// arena keeps the free space it fragments into. Measured with the memory bench (20,000 small JPEGs, 2 cores, loaded):
/// malloc's arenas grew from 27 to 52 MiB (37 of it free but kept) and RSS from 371 to 437 MiB; with
/// MALLOC_ARENA_MAX=2 set before start they stayed at 22-24 MiB (RSS peak 395) at the same speed. Set from inside the
/// process (<see cref="LimitArenas"/>) the limit comes after the runtime's first threads have their arenas and only
/// slowed the growth (28 to 42 MiB over 10,000 images), so each shard also ends with <see cref="Trim"/>.
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>Arenas when MALLOC_ARENA_MAX is not set.</summary>
    public const int DefaultArenas = 2;

    /// <summary>The environment variable glibc reads at start for the same limit.</summary>
    public const string ArenaVariable = "MALLOC_ARENA_MAX";

    // mallopt parameter number of M_ARENA_MAX in glibc's malloc.h.
    private const int MArenaMax = -8;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    /// <summary>
    /// The arena limit this process should run with: none (null) where MALLOC_ARENA_MAX already sets it or the C
    /// library is not glibc on Linux; <see cref="DefaultArenas"/> otherwise.
    /// </summary>
    public static int? Limit(string? arenaVariable, bool glibc) =>
        glibc && string.IsNullOrWhiteSpace(arenaVariable) ? DefaultArenas : null;

    /// <summary>Applies <see cref="Limit"/> to this process; returns the limit set, or null when it left malloc as it was.</summary>
    public static int? LimitArenas()
    {
        var limit = Limit(Environment.GetEnvironmentVariable(ArenaVariable), Glibc.Value);
        if (limit is not { } arenas) return null;
        // mallopt returns 1 on success; glibc accepts any positive M_ARENA_MAX, so 0 would mean the call did not reach it.
        return Mallopt(MArenaMax, arenas) == 1 ? arenas : null;
    }

    /// <summary>
    /// Gives the free pages inside malloc's arenas back to the system (glibc's malloc_trim). free() only returns memory
    /// at the top of an arena; the space freed between live blocks by decoders and ONNX Runtime stays resident, and
    /// with the arenas that existed before <see cref="LimitArenas"/> ran it kept growing with the job. Called after each
    /// shard: one call against the shard's seconds of decoding and inference. Returns whether any memory was released; false off glibc.
    /// </summary>
    public static bool Trim() => Glibc.Value && MallocTrim(0) == 1;

    private static readonly Lazy<bool> Glibc = new(IsGlibc);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>glibc on Linux (musl, as in Alpine images, has no M_ARENA_MAX).</summary>
    private static bool IsGlibc()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return GnuGetLibcVersion() != 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial nint GnuGetLibcVersion();
}
