using DpIqa.Client;

// The first Ctrl+C cancels the command gracefully (a running job is cancelled, exit code 130); a second one ends
// the process at once.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
};
return await Cli.Run(args, Console.Error, cancel.Token);
