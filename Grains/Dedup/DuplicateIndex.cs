using System.Numerics;

namespace DpIqa.Dedup;

/// <summary>
/// Groups 64-bit perceptual hashes whose Hamming distance is at most D, transitively (connected components), without
/// comparing all pairs: multi-index hashing. The 64 bits are split into m blocks; two hashes within D differ in at
/// most floor(D/m) bits in at least one block (pigeonhole), so each hash probes, per block, the table buckets of every
/// block value within that radius of its own, and only those candidates are compared in full (popcount). m is chosen
/// per run from the count of distinct hashes to keep probes times bucket sizes small (<see cref="Plan"/>). Equal hashes
/// are joined first and indexed once.
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
            var table = new BlockTable(distinct, shift, bits);
            table.Join(distinct, distance, radius, (u, v) => sets.Union(representative[u], representative[v]));
            shift += bits;
        }
        return sets;
    }

    /// <summary>Bits that differ.</summary>
    public static int Distance(ulong a, ulong b) => BitOperations.PopCount(a ^ b);

    /// <summary>
    /// Blocks m (2..8) and the radius floor(D/m) probed in each, minimising the estimated work per hash: probes
    /// (block values within the radius) plus candidates (probes times the expected bucket size, n / 2^table bits).
    /// </summary>
    internal static (int Blocks, int Radius) Plan(int n, int distance)
    {
        (int, int) best = (2, distance / 2);
        double bestCost = double.MaxValue;
        for (int m = 2; m <= 8; m++)
        {
            int r = distance / m, bits = 64 / m;
            double probes = 0;
            for (int i = 0; i <= r; i++) probes += Choose(bits, i);
            double bucket = n / Math.Pow(2, Math.Min(bits, BlockTable.TableBits(n)));
            double cost = m * probes * (1 + bucket);
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
    /// One block's table: the distinct hashes ordered by their block value's bucket (CSR: bucket starts, then the
    /// members); a block value of more bits than the table has is hashed into it (the full comparison sorts out the mix).
    /// </summary>
    private sealed class BlockTable
    {
        private readonly int _shift, _bits, _tableBits;
        private readonly ulong _blockMask;
        private readonly int[] _start;
        private readonly int[] _members;
        private readonly ulong[] _memberHashes;

        /// <summary>Table size: about twice the hashes (at least 2^10, at most 2^22 buckets).</summary>
        public static int TableBits(int n) => Math.Clamp(BitOperations.Log2((uint)Math.Max(n, 1)) + 2, 10, 22);

        public BlockTable(ulong[] hashes, int shift, int bits)
        {
            _shift = shift;
            _bits = bits;
            _blockMask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
            _tableBits = Math.Min(bits, TableBits(hashes.Length));
            int buckets = 1 << _tableBits;
            _start = new int[buckets + 1];
            foreach (var h in hashes) _start[Bucket(Block(h)) + 1]++;
            for (int i = 0; i < buckets; i++) _start[i + 1] += _start[i];
            var fill = _start[..^1].Clone() as int[] ?? throw new InvalidOperationException();
            _members = new int[hashes.Length];
            _memberHashes = new ulong[hashes.Length];
            for (int i = 0; i < hashes.Length; i++)
            {
                int at = fill[Bucket(Block(hashes[i]))]++;
                _members[at] = i;
                _memberHashes[at] = hashes[i];
            }
        }

        private ulong Block(ulong hash) => (hash >> _shift) & _blockMask;

        // Fibonacci hashing: block values one bit apart land in unrelated buckets, so every probe of a block wider than
        // the table scans a different bucket (masking would send flips of the high bits back to the same one).
        private int Bucket(ulong block) => _tableBits == _bits ? (int)block : (int)((block * 0x9E3779B97F4A7C15UL) >> (64 - _tableBits));

        /// <summary>Calls <paramref name="join"/>(u, v), u &lt; v, for every pair within <paramref name="distance"/> that this block finds.</summary>
        public void Join(ulong[] hashes, int distance, int radius, Action<int, int> join)
        {
            Span<int> flips = stackalloc int[Math.Max(radius, 1)];
            for (int u = 0; u < hashes.Length; u++)
            {
                ulong hash = hashes[u], block = Block(hash);
                Probe(block, 0, 0, radius, flips, u, hash, distance, join);
            }
        }

        /// <summary>Visits every block value that differs from <paramref name="block"/> in at most <paramref name="radius"/> bits (each once: flips in increasing bit order).</summary>
        private void Probe(ulong block, int firstBit, int depth, int radius, Span<int> flips, int u, ulong hash, int distance, Action<int, int> join)
        {
            Scan(Bucket(block), u, hash, distance, join);
            if (depth == radius) return;
            for (int bit = firstBit; bit < _bits; bit++)
                Probe(block ^ (1UL << bit), bit + 1, depth + 1, radius, flips, u, hash, distance, join);
        }

        private void Scan(int bucket, int u, ulong hash, int distance, Action<int, int> join)
        {
            for (int i = _start[bucket], end = _start[bucket + 1]; i < end; i++)
            {
                int v = _members[i];
                if (v > u && BitOperations.PopCount(hash ^ _memberHashes[i]) <= distance) join(u, v);
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
