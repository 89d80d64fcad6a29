using System.Numerics;

namespace DpIqa.Dedup;

/// <summary>
/// Groups 64-bit perceptual hashes whose Hamming distance is at most D, transitively (connected components), without
/// comparing all pairs: multi-index hashing. The 64 bits are split into m blocks; two hashes within D differ in at
/// most floor(D/m) bits in at least one block (pigeonhole). Per block, the hashes are bucketed by their block value, each
/// bucket probes the buckets of every block value within that radius of its own, and only the hashes of those bucket
/// pairs are compared in full (popcount); pairs found join groups in a union-find. m is chosen per run from the count of
/// distinct hashes (<see cref="Plan"/>). Equal hashes are joined first and indexed once. Buckets run in parallel.
/// </summary>
internal static class DuplicateIndex
{
    /// <summary>The group of each hash: hashes in one group share a root (see <see cref="DisjointSets.Find"/>).</summary>
    public static DisjointSets Group(ReadOnlySpan<ulong> hashes, int distance)
    {
        if (distance is < 0 or > 64) throw new ArgumentOutOfRangeException(nameof(distance));
        int n = hashes.Length;
        var sets = new DisjointSets(n);
        if (n < 2) return sets;
        // Distinct values, each with the first item that has it; equal hashes are one group at once.
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = hashes.ToArray();
        Array.Sort(keys, order);
        var values = new List<ulong>();
        var representative = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (i > 0 && keys[i] == keys[i - 1]) sets.Union(order[i], order[i - 1]);
            else
            {
                values.Add(keys[i]);
                representative.Add(order[i]);
            }
        }
        if (distance == 0 || values.Count < 2) return sets;
        var distinct = values.ToArray();
        var (blocks, radius) = Plan(distinct.Length, distance);
        int baseBits = 64 / blocks, extra = 64 % blocks;
        int shift = 0;
        for (int b = 0; b < blocks; b++)
        {
            int bits = baseBits + (b < extra ? 1 : 0);
            foreach (var (u, v) in new BlockTable(distinct, shift, bits).Pairs(distance, radius)) sets.Union(representative[u], representative[v]);
            shift += bits;
        }
        return sets;
    }

    /// <summary>Bits that differ.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);

    /// <summary>
    /// Blocks m (3..8, so a block's table of 2^bits buckets stays at most 2^22) and the radius floor(D/m) probed in each,
    /// minimising the estimated work: per block, the table itself, one visit per non-empty bucket and probe (a cache
    /// miss, weighted 50), and the full comparisons, n^2 / 2^bits per probe, halved (each bucket pair is seen once).
    /// </summary>
    internal static (int Blocks, int Radius) Plan(int n, int distance)
    {
        (int, int) best = (8, distance / 8);
        double bestCost = double.MaxValue;
        for (int m = 3; m <= 8; m++)
        {
            int r = distance / m, bits = (64 + m - 1) / m;
            double probes = 0;
            for (int i = 0; i <= r; i++) probes += Choose(bits, i);
            double buckets = Math.Pow(2, bits);
            double cost = m * (buckets + probes * (50 * Math.Min(n, buckets) + (double)n * n / buckets / 2));
            if (cost < bestCost) (best, bestCost) = ((m, r), cost);
        }
        return best;
    }

    private static double Choose(int n, int k)
    {
        double c = 1;
        for (int i = 0; i < k; i++) c = c * (n - i) / (i + 1);
        return c;
    }

    /// <summary>
    /// One block's table: the distinct hashes ordered by their block value (CSR: bucket starts, then the members and their
    /// hashes, so a bucket is one contiguous run). Every member of a bucket has the same probes, so the probes are made
    /// per bucket, and each pair of buckets within the radius is compared once (the lower one probes the higher).
    /// </summary>
    private sealed class BlockTable
    {
        private readonly int _shift, _bits;
        private readonly ulong _blockMask;
        private readonly int[] _start;
        private readonly int[] _members;
        private readonly ulong[] _memberHashes;
        private readonly int[] _occupied;

        public BlockTable(ulong[] hashes, int shift, int bits)
        {
            _shift = shift;
            _bits = bits;
            _blockMask = (1UL << bits) - 1;
            int buckets = 1 << bits;
            _start = new int[buckets + 1];
            foreach (var h in hashes) _start[(int)Block(h) + 1]++;
            for (int i = 0; i < buckets; i++) _start[i + 1] += _start[i];
            var fill = new int[buckets];
            Array.Copy(_start, fill, buckets);
            _members = new int[hashes.Length];
            _memberHashes = new ulong[hashes.Length];
            for (int i = 0; i < hashes.Length; i++)
            {
                int at = fill[(int)Block(hashes[i])]++;
                _members[at] = i;
                _memberHashes[at] = hashes[i];
            }
            var occupied = new List<int>();
            for (int k = 0; k < buckets; k++)
                if (_start[k + 1] > _start[k]) occupied.Add(k);
            _occupied = occupied.ToArray();
        }

        private ulong Block(ulong hash) => (hash >> _shift) & _blockMask;

        /// <summary>Every pair (u, v) within <paramref name="distance"/> that this block finds (some may come again from another block).</summary>
        public List<(int, int)> Pairs(int distance, int radius)
        {
            var found = new List<(int, int)>();
            object gate = new();
            Parallel.For(0, _occupied.Length, () => new List<(int, int)>(), (i, _, local) =>
            {
                int bucket = _occupied[i];
                Probe(bucket, bucket, 0, 0, radius, distance, local);
                return local;
            }, local => { lock (gate) found.AddRange(local); });
            return found;
        }

        /// <summary>Visits every block value within <paramref name="radius"/> bits of <paramref name="bucket"/> (each once: flips in increasing bit order).</summary>
        private void Probe(int bucket, int probe, int firstBit, int depth, int radius, int distance, List<(int, int)> found)
        {
            if (probe >= bucket) Compare(bucket, probe, distance, found);
            if (depth == radius) return;
            for (int bit = firstBit; bit < _bits; bit++) Probe(bucket, probe ^ (1 << bit), bit + 1, depth + 1, radius, distance, found);
        }

        private void Compare(int a, int b, int distance, List<(int, int)> found)
        {
            int aStart = _start[a], aEnd = _start[a + 1], bStart = _start[b], bEnd = _start[b + 1];
            if (bStart == bEnd) return;
            for (int i = aStart; i < aEnd; i++)
            {
                ulong h = _memberHashes[i];
                for (int j = a == b ? i + 1 : bStart; j < bEnd; j++)
                    if (BitOperations.PopCount(h ^ _memberHashes[j]) <= distance) found.Add((_members[i], _members[j]));
            }
        }
    }
}

/// <summary>Union-find with union by size and path halving: near-constant time per operation.</summary>
internal sealed class DisjointSets
{
    private readonly int[] _parent;
    private readonly int[] _size;

    public DisjointSets(int count)
    {
        _parent = new int[count];
        _size = new int[count];
        for (int i = 0; i < count; i++) { _parent[i] = i; _size[i] = 1; }
    }

    public int Count => _parent.Length;

    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }
        return x;
    }

    public void Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a == b) return;
        if (_size[a] < _size[b]) (a, b) = (b, a);
        _parent[b] = a;
        _size[a] += _size[b];
    }

    /// <summary>Size of the group of <paramref name="x"/>.</summary>
    public int SizeOf(int x) => _size[Find(x)];
}
