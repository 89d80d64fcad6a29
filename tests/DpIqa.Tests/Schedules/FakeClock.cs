namespace DpIqa.Tests.Schedules;

/// <summary>A clock a test sets by hand; schedules read it through <see cref="DpIqa.Schedules.ScheduleClock"/>.</summary>
internal sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset now) => _now = now;
}
