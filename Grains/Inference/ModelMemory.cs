using System.Globalization;
using DpIqa.Models;

namespace DpIqa.Inference;

/// <summary>
/// The memory rule for loading a model: a model needs about <see cref="Factor"/> times its files' size plus
/// <see cref="OverheadBytes"/> (measured by <c>bench/DpIqa.Bench large-model</c>, see docs/large-models.md), and is
/// loaded only when that fits in <see cref="InferenceOptions.MemoryBudgetMiB"/> less what the models already loaded
/// here need, or, with no budget set, in the memory available now (MemAvailable, and the cgroup's limit less its
/// usage when the silo runs in a container with a memory limit). Checking before the load turns what would be an
/// out-of-memory kill of the whole silo into an error on the model's shards.
/// </summary>
internal static class ModelMemory
{
    /// <summary>Memory per byte of model files: the weights once (measured: 1.02 for a 4 GiB model on the CPU, RSS after load over file size), with room to spare.</summary>
    public const double Factor = 1.1;

    /// <summary>A session's fixed cost beyond its weights (graph, kernels, arena for one run), in bytes.</summary>
    public const long OverheadBytes = 64L << 20;

    public static long EstimateBytes(long fileBytes) => (long)(fileBytes * Factor) + OverheadBytes;

    /// <summary>
    /// Throws <see cref="ModelMemoryException"/> when <paramref name="manifest"/>'s model (files of
    /// <paramref name="fileBytes"/>) does not fit: see the class summary. <paramref name="loadedBytes"/> is what the
    /// models already loaded on this silo are estimated to need.
    /// </summary>
    public static long Check(ModelManifest manifest, long fileBytes, InferenceOptions options, long loadedBytes, Func<long?>? available = null)
    {
        long need = EstimateBytes(fileBytes);
        if (options.MemoryBudgetMiB > 0)
        {
            long left = (options.MemoryBudgetMiB << 20) - loadedBytes;
            if (need > left)
                throw new ModelMemoryException(manifest, $"model '{manifest.Name}' needs about {Mib(need)} MiB to load ({Mib(fileBytes)} MiB of files x {Factor.ToString(CultureInfo.InvariantCulture)} + {Mib(OverheadBytes)} MiB) but Inference:MemoryBudgetMiB={options.MemoryBudgetMiB} leaves {Mib(Math.Max(0, left))} MiB{Loaded(loadedBytes)}; raise Inference:MemoryBudgetMiB to at least {Mib(need + loadedBytes)} on a silo with that much memory, or score this model on a bigger silo");
            return need;
        }
        if ((available ?? AvailableBytes)() is { } free && need > free)
            throw new ModelMemoryException(manifest, $"model '{manifest.Name}' needs about {Mib(need)} MiB to load ({Mib(fileBytes)} MiB of files x {Factor.ToString(CultureInfo.InvariantCulture)} + {Mib(OverheadBytes)} MiB) but this silo has {Mib(free)} MiB available{Loaded(loadedBytes)}; give the silo (its container's memory limit) at least {Mib(need - free)} MiB more, unload other models (Inference:IdleUnloadSeconds), or score this model on a bigger silo");
        return need;
    }

    private static string Loaded(long bytes) => bytes > 0 ? $" (models already loaded here need about {Mib(bytes)} MiB)" : "";

    private static long Mib(long bytes) => (bytes + (1 << 20) - 1) >> 20;

    /// <summary>Memory available to this process now: MemAvailable, and the cgroup's limit less its usage when lower; null when unknown.</summary>
    public static long? AvailableBytes()
    {
        long? available = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                available = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                break;
            }
            // cgroup v2 (a container's memory limit): memory.max is "max" when unlimited.
            var max = ReadCgroup("memory.max");
            var current = ReadCgroup("memory.current");
            if (max is { } limit && current is { } used)
            {
                long left = Math.Max(0, limit - used);
                available = available is null ? left : Math.Min(available.Value, left);
            }
        }
        catch (IOException)
        {
            // Not Linux, or no access: nothing to compare with; the load is tried as before.
        }
        return available;
    }

    private static long? ReadCgroup(string file)
    {
        var path = Path.Combine("/sys/fs/cgroup", file);
        if (!File.Exists(path)) return null;
        var text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
    }
}

/// <summary>A model this silo cannot hold in memory: its shards end with an <c>inference</c> error record carrying <see cref="Exception.Message"/>.</summary>
internal sealed class ModelMemoryException(ModelManifest manifest, string message, Exception? inner = null) : InvalidOperationException(message, inner)
{
    public ModelManifest Manifest { get; } = manifest;
}
