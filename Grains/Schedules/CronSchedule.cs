using Cronos;

namespace DpIqa.Schedules;

/// <summary>A schedule's cron expression in its time zone (Cronos: DST gaps skipped, overlaps fired once).</summary>
internal sealed class CronSchedule
{
    private readonly CronExpression _cron;
    private readonly TimeZoneInfo _zone;

    private CronSchedule(CronExpression cron, TimeZoneInfo zone)
    {
        _cron = cron;
        _zone = zone;
    }

    /// <summary>Parses both, or throws <see cref="ArgumentException"/> saying what to fix (the CLI calls this before connecting).</summary>
    public static CronSchedule Parse(string cron, string timeZone)
    {
        if (string.IsNullOrWhiteSpace(cron)) throw new ArgumentException("--cron is empty: give 5 fields such as \"0 2 * * *\" (02:00 every day)");
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new ArgumentException($"--cron \"{cron}\" is not a valid cron expression ({e.Message}): give 5 fields, minute hour day-of-month month day-of-week, such as \"0 2 * * *\"");
        }
        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(string.IsNullOrWhiteSpace(timeZone) ? "UTC" : timeZone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"--time-zone '{timeZone}' is not a known time zone: give an IANA id such as Europe/Paris or UTC");
        }
        return new CronSchedule(expression, zone);
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, or null.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => _cron.GetNextOccurrence(after, _zone, inclusive: false);

    /// <summary>
    /// The latest occurrence in (<paramref name="after"/>, <paramref name="now"/>] and how many there were: one run
    /// stands for them all (a late tick, or a cluster that was down for several nights, catches up once).
    /// </summary>
    public (DateTimeOffset? Latest, int Count) Due(DateTimeOffset after, DateTimeOffset now)
    {
        DateTimeOffset? latest = null;
        int count = 0;
        if (now <= after) return (null, 0);
        foreach (var occurrence in _cron.GetOccurrences(after, now, _zone, fromInclusive: false, toInclusive: true))
        {
            latest = occurrence;
            count++;
        }
        return (latest, count);
    }
}
