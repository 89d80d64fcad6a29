namespace DpIqa.Schedules;

/// <summary>
/// The time schedules read, from a <see cref="TimeProvider"/>: the system's in a silo, a fake one in tests (registered
/// before <c>AddDpIqa</c>). A type of its own rather than TimeProvider itself, so a test's frozen clock reaches the
/// schedules only, not Orleans' membership, timers and timeouts.
/// </summary>
public sealed class ScheduleClock(TimeProvider time)
{
    public DateTimeOffset UtcNow => time.GetUtcNow();
}
