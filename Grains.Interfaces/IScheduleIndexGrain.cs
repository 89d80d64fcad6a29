namespace DpIqa;

/// <summary>The schedule index (a single grain, key <see cref="Key"/>): every schedule's name.</summary>
// The alias keeps the name from when this was the "schedule catalog" (catalog now means the models only): it identifies
// the interface on the wire; the key is part of the grain id the state is stored under.
[Alias("dpiqa.IScheduleCatalogGrain")]
[RequiresRole(Role.Reader)]
public interface IScheduleIndexGrain : IGrainWithStringKey
{
    /// <summary>The one index's key (its stored state is found by it: do not change).</summary>
    public const string Key = "schedules";

    /// <summary>Records a schedule.</summary>
    [RequiresRole(Role.Silo), Alias("Add")] Task Add(string name);
    /// <summary>Forgets a deleted schedule.</summary>
    [RequiresRole(Role.Silo), Alias("Remove")] Task Remove(string name);
    /// <summary>Every schedule's name, in order.</summary>
    [Alias("All")] Task<IReadOnlyList<string>> All();
}
