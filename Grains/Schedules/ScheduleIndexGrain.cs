using DpIqa.Jobs;

namespace DpIqa.Schedules;

/// <summary>The schedule index's stored state; type name and alias kept from the "schedule catalog" (see <see cref="ScheduleIndexGrain"/>).</summary>
[GenerateSerializer, Alias("dpiqa.ScheduleCatalogRecord")]
public sealed class ScheduleCatalogRecord
{
    [Id(0)] public SortedSet<string> Names { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The list of schedules, for <c>dpiqa schedule list</c>. The grain type keeps the value of the earlier
/// ScheduleCatalogGrain (the default for this class would be "scheduleindex"): it is part of where the state is stored,
/// so schedules recorded before the rename stay listed.
/// </summary>
[GrainType(GrainTypeName)]
internal sealed class ScheduleIndexGrain(
    [PersistentState("schedules", JobGrain.StorageName)] IPersistentState<ScheduleCatalogRecord> state) : Grain, IScheduleIndexGrain
{
    /// <summary>The grain type the class had as ScheduleCatalogGrain (Orleans' default: the class name without "Grain", lower-case).</summary>
    public const string GrainTypeName = "schedulecatalog";

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
