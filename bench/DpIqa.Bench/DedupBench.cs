using System.Diagnostics;
using System.Numerics;
using DpIqa.Dedup;

namespace DpIqa.Bench;

/// <summary>
/// dedup index [N ...] [--distance D]: grouping N synthetic pHashes (balanced 32-of-64 bits, as pHash's median split
/// gives) with planted groups (10% of the hashes, groups of 2-5 copies of a base, each copy at most D/2 bits from it, so
/// every pair of a group is within D), through <see cref="DuplicateIndex"/>: time, memory, planted groups found.
/// dedup accuracy / dedup hashcost: see <see cref="DedupAccuracy"/>.
/// </summary>
internal static class DedupBench
{
    public static Task Run(string root, string[] args)
    {
        var what = args.FirstOrDefault() ?? "index";
        if (what == "accuracy") return DedupAccuracy.Run(root, args[1..]);
        if (what == "hashcost") return DedupAccuracy.HashCost(root, args[1..]);
        int distance = JobDedup.DefaultDistance;
        var sizes = new List<int>();
        for (int a = 1; a < args.Length; a++)
        {
            if (args[a] == "--distance") distance = int.Parse(args[++a]);
            else sizes.Add(int.Parse(args[a]));
        }
        if (sizes.Count == 0) sizes = [100_000, 1_000_000];
        Console.WriteLine($"dedup index: D = {distance}, {Environment.ProcessorCount} cores, .NET {Environment.Version} (loaded machine: shared by other builds)");
        foreach (var n in sizes) One(n, distance);
        return Task.CompletedTask;
    }

    private static void One(int n, int distance)
    {
        var random = new Random(n);
        var hashes = new ulong[n];
        var planted = new List<int[]>();
        int i = 0;
        while (i < n)
        {
            ulong hash = Balanced(random);
            if (random.NextDouble() < 0.1 / 3.5 && i + 5 <= n) // 10% of hashes in groups of 2-5 (mean 3.5)
            {
                int size = random.Next(2, 6);
                var group = new int[size];
                for (int k = 0; k < size; k++)
                {
                    group[k] = i;
                    hashes[i++] = Flip(hash, random.Next(0, distance / 2 + 1), random);
                }
                planted.Add(group);
            }
            else hashes[i++] = hash;
        }
        GC.Collect();
        long before = GC.GetTotalMemory(true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(true);
        var plan = DuplicateIndex.Plan(n, distance);
        var watch = Stopwatch.StartNew();
        var sets = DuplicateIndex.Group(hashes, distance);
        watch.Stop();
        long allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
        int found = planted.Count(g => g.All(m => sets.Find(m) == sets.Find(g[0])));
        var plantedSet = new HashSet<int>(planted.SelectMany(g => g));
        // Hashes joined to something that is not their planted group: chance pairs within D among unrelated random hashes.
        var byRoot = Enumerable.Range(0, n).GroupBy(sets.Find).Where(g => g.Count() > 1).ToList();
        int extraGroups = byRoot.Count(g => !g.All(plantedSet.Contains) || planted.All(p => !p.Contains(g.First())) || g.Count() != planted.First(p => p.Contains(g.First())).Length);
        Console.WriteLine($"  {n,9:N0} hashes, {planted.Count:N0} planted groups: {watch.Elapsed.TotalSeconds:F2} s, plan {plan.Blocks} blocks x radius {plan.Radius}, " +
            $"allocated {allocated / (1024.0 * 1024):F0} MiB while grouping (inputs {n * 8 / (1024.0 * 1024):F0} MiB), process peak {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):F0} MiB; " +
            $"planted groups found whole {found:N0}/{planted.Count:N0}; other groups (chance pairs within D) {extraGroups:N0}");
        GC.KeepAlive(before);
    }

    /// <summary>A random 64-bit value with 32 bits set, as a pHash (bits above the median of 64 values) has.</summary>
    internal static ulong Balanced(Random random)
    {
        ulong h = 0;
        while (BitOperations.PopCount(h) < 32) h |= 1UL << random.Next(64);
        return h;
    }

    private static ulong Flip(ulong hash, int bits, Random random)
    {
        var chosen = new HashSet<int>();
        while (chosen.Count < bits) chosen.Add(random.Next(64));
        foreach (var b in chosen) hash ^= 1UL << b;
        return hash;
    }
}
