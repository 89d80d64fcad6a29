namespace DpIqa;

/// <summary>
/// What a client identity may do (issue 23). Each role includes the ones below it: <c>reader</c> reads jobs and
/// schedules, <c>operator</c> also submits, cancels and manages schedules, <c>admin</c> also imports and removes models.
/// </summary>
public enum Role
{
    /// <summary>Job status, summary, results, reports, lists.</summary>
    Reader = 1,

    /// <summary>Reader, plus submit and cancel jobs, create, run, pause, resume and delete schedules.</summary>
    Operator = 2,

    /// <summary>Operator, plus import and remove models.</summary>
    Admin = 3,

    /// <summary>Calls between silos only (leases, index updates, reminders): never accepted from a client.</summary>
    Silo = 100,
}

/// <summary>
/// The role a client needs for a grain method (or, on an interface, for its methods without their own). A method of
/// a DP-IQA grain interface with neither needs <see cref="Role.Admin"/>: a new method is closed until someone says
/// who may call it.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Interface)]
public sealed class RequiresRoleAttribute(Role role) : Attribute
{
    /// <summary>The least role a caller needs.</summary>
    public Role Role { get; } = role;
}

/// <summary>Who submitted a job or created a schedule, as the silo verified it, with the containers that identity may use.</summary>
[GenerateSerializer, Alias("dpiqa.Submitter")]
public sealed record Submitter
{
    /// <summary>The name in the identity's token (or <c>anonymous</c> where the cluster accepts calls without a token).</summary>
    [Id(0)] public required string Name { get; init; }

    /// <summary>The identity's role.</summary>
    [Id(1)] public Role Role { get; init; }

    /// <summary>Containers the identity may read (<c>*</c>: all the cluster may read).</summary>
    [Id(2)] public IReadOnlyList<string> ReadContainers { get; init; } = [];

    /// <summary>Containers the identity may write: results, tags, quarantine (<c>*</c>: all the cluster may write).</summary>
    [Id(3)] public IReadOnlyList<string> WriteContainers { get; init; } = [];
}

/// <summary>
/// The cluster refused a caller: no token, a damaged or expired one, too small a role, a container outside the
/// identity's or the cluster's scope. The message is one line saying what to do; it never holds a token.
/// </summary>
[GenerateSerializer, Alias("dpiqa.AccessRefusedException")]
public sealed class AccessRefusedException : Exception
{
    /// <summary>A refusal with its one-line reason.</summary>
    public AccessRefusedException(string message) : base(message)
    {
    }
}
