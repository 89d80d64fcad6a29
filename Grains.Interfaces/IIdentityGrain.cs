namespace DpIqa;

/// <summary>
/// Asks the cluster whether the caller's token holds a role, for client work that does not go through a grain (the
/// model catalog is written by the client itself): the silos' call filter answers, the grain does nothing.
/// </summary>
[Alias("dpiqa.IIdentityGrain")]
public interface IIdentityGrain : IGrainWithIntegerKey
{
    /// <summary>Returns when the caller is an admin; refused (<see cref="AccessRefusedException"/>) otherwise.</summary>
    [RequiresRole(Role.Admin), Alias("RequireAdmin")] Task RequireAdmin();
}
