namespace DpIqa;

/// <summary>
/// One per schedule (key: its name), driven by an Orleans reminder that ticks every minute; each tick computes the
/// cron occurrences that fell due with Cronos and starts at most one run.
/// </summary>
[Alias("dpiqa.IScheduleGrain")]
[RequiresRole(Role.Reader)]
public interface IScheduleGrain : IGrainWithStringKey
{
    /// <summary>Creates the schedule (the same definition again is accepted as is). Throws <see cref="ArgumentException"/> saying what to fix.</summary>
    [RequiresRole(Role.Operator), Alias("Create")] Task<ScheduleStatus> Create(ScheduleSpec spec);
    /// <summary>The schedule, or null when there is none of that name.</summary>
    [Alias("GetStatus")] Task<ScheduleStatus?> GetStatus();
    /// <summary>Starts a run now, unless one is running (runs never overlap).</summary>
    [RequiresRole(Role.Operator), Alias("RunNow")] Task<ScheduleRun> RunNow();
    /// <summary>Stops starting runs (a run in progress goes on).</summary>
    [RequiresRole(Role.Operator), Alias("Pause")] Task<ScheduleStatus> Pause();
    /// <summary>Starts runs again from the next occurrence; those missed while paused are skipped.</summary>
    [RequiresRole(Role.Operator), Alias("Resume")] Task<ScheduleStatus> Resume();
    /// <summary>Removes the schedule and its reminder; runs already started and their outputs stay.</summary>
    [RequiresRole(Role.Operator), Alias("Delete")] Task Delete();
    /// <summary>Evaluates the schedule now: the reminder calls it every minute; tests call it with a fake clock.</summary>
    [RequiresRole(Role.Silo), Alias("Tick")] Task Tick();
}
