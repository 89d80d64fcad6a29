using DpIqa.Jobs;

namespace DpIqa.Schedules;

[GenerateSerializer, Alias("dpiqa.ScheduleCatalogRecord")]
public sealed class ScheduleCatalogRecord
{
    [Id(0)] public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The list of schedules, for <c>dpiqa schedule list</c>.</summary>
internal sealed class ScheduleCatalogGrain(
    [PersistentState("schedules", JobGrain.StorageName)] IPersistentState<ScheduleCatalogRecord> state) : Grain, IScheduleCatalogGrain
{
    public async Task Add(string name)
    {
        if (state.State.Names.Add(name)) await state.WriteStateAsync();
    }

    public async Task Remove(string name)
    {
        if (state.State.Names.Remove(name)) await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> All() => Task.FromResult<IReadOnlyList<string>>(state.State.Names.ToList());
}
