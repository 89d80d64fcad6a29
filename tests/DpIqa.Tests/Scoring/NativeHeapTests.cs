using System.Runtime.InteropServices;
using DpIqa.Scoring;

namespace DpIqa.Tests.Scoring;

/// <summary>
/// The silo's glibc arena limit (issue 11, memory flat with job size): without it each new allocating thread gets a
/// malloc arena of its own (up to 8 per core), and the arenas' kept free space grew with the job.
/// </summary>
public sealed partial class NativeHeapTests
{
    [Fact]
    public void The_limit_is_two_arenas_unless_MALLOC_ARENA_MAX_is_set_or_the_library_is_not_glibc()
    {
        Assert.Equal(NativeHeap.DefaultArenas, NativeHeap.Limit(null, glibc: true));
        Assert.Equal(NativeHeap.DefaultArenas, NativeHeap.Limit("", glibc: true));
        Assert.Null(NativeHeap.Limit("4", glibc: true)); // glibc read the user's value at start: it stands
        Assert.Null(NativeHeap.Limit(null, glibc: false));
    }

    /// <summary>
    /// After <see cref="NativeHeap.LimitArenas"/>, threads that start allocating add no arena beyond the limit (glibc's
    /// malloc_info lists one &lt;heap&gt; per arena). Without the limit each of these threads would create one, as long
    /// as this process has fewer than 8 per core.
    /// </summary>
    [Fact]
    public void New_allocating_threads_share_the_limited_arenas()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(NativeHeap.ArenaVariable) is not (null or "")) return;
        Assert.Equal(NativeHeap.DefaultArenas, NativeHeap.LimitArenas());
        int before = Arenas();

        const int threads = 8;
        using var allocated = new Barrier(threads + 1);
        using var release = new ManualResetEventSlim();
        var started = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            unsafe
            {
                // Each thread's first malloc picks (or creates) its arena; holding the block keeps the arena in use.
                var block = System.Runtime.InteropServices.NativeMemory.Alloc(4096);
                allocated.SignalAndWait();
                release.Wait();
                System.Runtime.InteropServices.NativeMemory.Free(block);
            }
        })).ToList();
        started.ForEach(t => t.Start());
        allocated.SignalAndWait();
        int after = Arenas();
        release.Set();
        started.ForEach(t => t.Join());

        Assert.True(after <= Math.Max(before, NativeHeap.DefaultArenas), $"{threads} new threads took {after - before} new arenas ({before} before, {after} after)");
    }

    /// <summary>
    /// Free space between live malloc blocks stays resident until <see cref="NativeHeap.Trim"/>: 64 MiB of 4 KB blocks
    /// with every 16th kept (so no free space is at an arena's top, which free() would return by itself).
    /// </summary>
    [Fact]
    public void Trim_returns_the_free_space_between_live_blocks()
    {
        if (!OperatingSystem.IsLinux()) return;
        const int blocks = 16384, size = 4000;
        long before = 0, after = 0;
        bool released = false;
        // One thread does it all, so every block is in that thread's arena.
        var thread = new Thread(() =>
        {
            unsafe
            {
                var all = new nint[blocks];
                for (int i = 0; i < blocks; i++)
                {
                    all[i] = (nint)System.Runtime.InteropServices.NativeMemory.Alloc(size);
                    new Span<byte>((void*)all[i], size).Fill(1); // resident
                }
                for (int i = 0; i < blocks; i++)
                    if (i % 16 != 15) System.Runtime.InteropServices.NativeMemory.Free((void*)all[i]);
                before = ResidentBytes();
                released = NativeHeap.Trim();
                after = ResidentBytes();
                for (int i = 15; i < blocks; i += 16) System.Runtime.InteropServices.NativeMemory.Free((void*)all[i]);
            }
        });
        thread.Start();
        thread.Join();

        Assert.True(released, "malloc_trim released nothing");
        Assert.True(before - after > 32L << 20, $"resident {before >> 20} MiB before the trim, {after >> 20} MiB after: ~60 MiB of freed blocks should have gone");
    }

    /// <summary>This process's resident bytes (/proc/self/statm's second field, in pages).</summary>
    private static long ResidentBytes() =>
        long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;

    /// <summary>The arenas glibc has, from malloc_info's XML (one &lt;heap nr="..."&gt; element each).</summary>
    private static unsafe int Arenas()
    {
        // open_memstream writes the buffer's address and size at fclose, so both live in native memory until then.
        var slots = (nint*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(2, (nuint)sizeof(nint));
        try
        {
            var stream = OpenMemstream(&slots[0], &slots[1]);
            Assert.NotEqual(0, stream);
            int result = MallocInfo(0, stream);
            Fclose(stream);
            Assert.Equal(0, result);
            var xml = Marshal.PtrToStringUTF8(slots[0])!;
            return xml.Split("<heap nr=").Length - 1;
        }
        finally
        {
            Free(slots[0]);
            System.Runtime.InteropServices.NativeMemory.Free(slots);
        }
    }

    [LibraryImport("libc", EntryPoint = "open_memstream")]
    private static unsafe partial nint OpenMemstream(nint* buffer, nint* size);

    [LibraryImport("libc", EntryPoint = "malloc_info")]
    private static partial int MallocInfo(int options, nint stream);

    [LibraryImport("libc", EntryPoint = "fclose")]
    private static partial int Fclose(nint stream);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint block);
}
