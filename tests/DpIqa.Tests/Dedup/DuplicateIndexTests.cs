using System.Numerics;
using DpIqa.Dedup;

namespace DpIqa.Tests.Dedup;

/// <summary>The multi-index grouping equals the connected components of all pairs within D, found by brute force.</summary>
public sealed class DuplicateIndexTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(20)]
    public void Groups_equal_brute_force_components(int distance)
    {
        var random = new Random(distance + 1);
        var hashes = new List<ulong>();
        while (hashes.Count < 1500)
        {
            ulong h = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
            hashes.Add(h);
            for (int copies = random.Next(0, 3); copies > 0; copies--) // near copies, some beyond D
            {
                ulong c = h;
                for (int f = random.Next(0, distance + 4); f > 0; f--) c ^= 1UL << random.Next(64);
                hashes.Add(c);
            }
        }
        var sets = DuplicateIndex.Group(hashes.ToArray(), distance);
        var brute = new DisjointSets(hashes.Count);
        for (int i = 0; i < hashes.Count; i++)
            for (int j = i + 1; j < hashes.Count; j++)
                if (BitOperations.PopCount(hashes[i] ^ hashes[j]) <= distance) brute.Union(i, j);
        for (int i = 0; i < hashes.Count; i++)
            for (int j = i + 1; j < Math.Min(hashes.Count, i + 40); j++)
                Assert.Equal(brute.Find(i) == brute.Find(j), sets.Find(i) == sets.Find(j));
        Assert.Equal(Enumerable.Range(0, hashes.Count).Select(brute.Find).Distinct().Count(), Enumerable.Range(0, hashes.Count).Select(sets.Find).Distinct().Count());
    }
}
