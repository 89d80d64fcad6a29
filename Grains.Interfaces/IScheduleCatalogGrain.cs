namespace DpIqa;

/// <summary>The schedule registry (a single grain, key <see cref="Key"/>).</summary>
[Alias("dpiqa.IScheduleCatalogGrain")]
public interface IScheduleCatalogGrain : IGrainWithStringKey
{
    /// <summary>The one catalog's key.</summary>
    public const string Key = "schedules";

    /// <summary>Records a schedule.</summary>
    [Alias("Add")] Task Add(string name);
    /// <summary>Forgets a deleted schedule.</summary>
    [Alias("Remove")] Task Remove(string name);
    /// <summary>Every schedule's name, in order.</summary>
    [Alias("All")] Task<IReadOnlyList<string>> All();
}
