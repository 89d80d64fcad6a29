using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Blobs;
using DpIqa.Results;
using DpIqa.Testing;

namespace DpIqa.Bench;

/// <summary>
/// Chaos trials: does a job keep every image exactly once when processes die under it? Each trial is a fresh
/// cluster of its own (ClusterId, Azurite on free loopback ports persisting to a temp folder, 3 DpIqa.Silo
/// processes, all scoring), the same images uploaded, a job submitted with <c>dpiqa job submit</c>, one fault
/// injected once a third of the images are done, the job followed to the end, and its results merged with
/// <c>dpiqa job results</c> and checked. A fault-free run of the same job in the same invocation is the
/// reference for the time a fault adds. Killed silos are started again on new ports, as a process manager
/// starting a new pod would.
/// </summary>
internal static class ChaosBench
{
    private const string NoFault = "none";

    /// <summary>The faults, in table order; <c>none</c> (the baseline) always runs.</summary>
    private static readonly string[] Faults = ["kill-silo", "kill-coordinator", "term-silo", "kill-two-silos", "pause-storage", "restart-storage"];

    private const int Silos = 3;
    private static readonly TimeSpan StoragePause = TimeSpan.FromSeconds(15);

    private sealed record Settings(int Trials, int Images, int Corrupt, IReadOnlyList<string> Faults, int ShardSize, TimeSpan Timeout, bool Keep);

    /// <summary>
    /// One trial's outcome. <c>Held</c>: completed, every input exactly once in the merged results, totals equal the
    /// inputs. <c>PaceAdded</c>: the duration minus the time the job would have taken at its own pace just before
    /// the fault (images done between 10% and the fault, so start-up is not counted), a second measure of the time added that does not depend on how loaded the machine was during other trials.
    /// </summary>
    private sealed record Trial(string Fault, int Number, bool Held, TimeSpan? Duration, TimeSpan? PaceAdded, int SpuriousErrors, string Detail);

    public static async Task<int> Run(string root, string[] args)
    {
        Settings settings;
        try { settings = Parse(args); }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            await Console.Error.WriteLineAsync("usage: chaos [--trials N] [--images N] [--corrupt N] [--faults a,b,...] [--shard-size N] [--timeout SECONDS] [--keep]");
            await Console.Error.WriteLineAsync($"faults: {string.Join(", ", Faults)}");
            return 2;
        }
        var azurite = ClusterProcesses.AzuriteExecutable(root);
        if (azurite is null || !File.Exists(ClusterProcesses.SiloDll(root)) || !File.Exists(ClusterProcesses.CliDll(root)))
        {
            await Console.Error.WriteLineAsync("error: needs Azurite in .cache/azurite and a Release build of Silo and Client: run scripts/chaos.sh");
            return 1;
        }

        var inputs = PrepareImages(root, settings);
        Console.WriteLine($"# chaos: {settings.Trials} trial(s) per fault, {inputs.Count} images ({settings.Corrupt} corrupt), shards of {settings.ShardSize}, " +
                          $"{Silos} silo processes + Azurite per trial, timeout {settings.Timeout.TotalSeconds:F0} s, {Environment.ProcessorCount} cores");
        var trials = new List<Trial>();
        // Interleaved (baseline, then each fault, per round) so a change in machine load hits all faults alike.
        for (int number = 1; number <= settings.Trials; number++)
        {
            foreach (var fault in new[] { NoFault }.Concat(settings.Faults))
            {
                var trial = await RunTrial(root, azurite, inputs, fault, number, settings);
                trials.Add(trial);
                Console.WriteLine($"{trial.Fault,-17} #{trial.Number}  {(trial.Held ? "held  " : "FAILED")}  {(trial.Duration is { } d ? $"{d.TotalSeconds,6:F1} s" : "     --")}" +
                                  $"{(trial.PaceAdded is { } p ? $" ({p.TotalSeconds:+0.0;-0.0} s vs its own pace)" : "")}  {trial.Detail}");
            }
        }
        PrintTable(trials, settings);
        return trials.All(t => t.Held) ? 0 : 1;
    }

    private static Settings Parse(string[] args)
    {
        int trials = 1, images = 1500, corrupt = 12, shardSize = 50, timeout = 300;
        bool keep = false;
        IReadOnlyList<string> faults = Faults;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
            int Number(int min)
            {
                var name = args[i];
                return int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
                    ? n : throw new ArgumentException($"{name} needs a whole number ≥ {min}, got '{args[i]}'");
            }
            switch (args[i])
            {
                case "--trials": trials = Number(1); break;
                case "--images": images = Number(10); break;
                case "--corrupt": corrupt = Number(0); break;
                case "--shard-size": shardSize = Number(1); break;
                case "--timeout": timeout = Number(10); break;
                case "--keep": keep = true; break;
                case "--faults":
                    faults = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (faults.FirstOrDefault(f => !Faults.Contains(f)) is { } unknown) throw new ArgumentException($"unknown fault '{unknown}'");
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (corrupt >= images) throw new ArgumentException("--corrupt must be smaller than --images");
        return new Settings(trials, images, corrupt, faults, shardSize, TimeSpan.FromSeconds(timeout), keep);
    }

    /// <summary>
    /// Blob name under the source prefix → content and whether it is corrupt. Good images: varied crops of the
    /// shipped photos (96-400 px, JPEG and PNG, three folders). Corrupt ones (empty, random bytes, a truncated
    /// JPEG, text named .png) must end as error records.
    /// </summary>
    private static Dictionary<string, (byte[] Content, bool Corrupt)> PrepareImages(string root, Settings settings)
    {
        var dir = ClusterProcesses.MakeCrops(root, Path.Combine(root, ".cache", $"chaos-images-{settings.Images - settings.Corrupt}"),
            settings.Images - settings.Corrupt, 96, 400, varied: true);
        var inputs = Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f).Replace('\\', '/'), f => (File.ReadAllBytes(f), false));
        var rng = new Random(11);
        var jpeg = inputs.First(i => i.Key.EndsWith(".jpg", StringComparison.Ordinal)).Value.Item1;
        for (int i = 0; i < settings.Corrupt; i++)
        {
            var (name, content) = (i % 4) switch
            {
                0 => ($"bad-{i:D3}-empty.jpg", Array.Empty<byte>()),
                1 => ($"bad-{i:D3}-noise.jpg", RandomBytes(rng, 5000)),
                2 => ($"bad-{i:D3}-truncated.jpg", jpeg[..(jpeg.Length / 3)]),
                _ => ($"bad-{i:D3}-text.png", "not an image"u8.ToArray()),
            };
            inputs[$"{"abc"[i % 3]}/{name}"] = (content, true);
        }
        return inputs;
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static async Task<Trial> RunTrial(string root, string azuriteExe, Dictionary<string, (byte[] Content, bool Corrupt)> inputs, string fault, int number, Settings settings)
    {
        var id = $"chaos-{fault}-{number}-{Guid.NewGuid().ToString("N")[..6]}";
        var folder = Path.Combine(Path.GetTempPath(), "dpiqa-" + id);
        Directory.CreateDirectory(folder);
        var silos = new List<SiloHost>();
        AzuriteServer? storage = null;
        Task<string>? injection = null;
        bool held = false;
        try
        {
            storage = await ClusterProcesses.StartAzurite(azuriteExe, Path.Combine(folder, "azurite"), Path.Combine(folder, "azurite.log"));
            var container = new BlobServiceClient(storage.ConnectionString).GetBlobContainerClient("chaos");
            await container.CreateAsync();
            await Parallel.ForEachAsync(inputs, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (input, ct) =>
                await container.UploadBlobAsync("in/" + input.Key, BinaryData.FromBytes(input.Value.Content), ct));

            var env = new Dictionary<string, string>
            {
                ["Storage__ConnectionString"] = storage.ConnectionString, ["Cluster__ClusterId"] = id, ["Logging__LogLevel__Default"] = "Warning",
            };
            int started = 0;
            SiloHost StartSilo() => ClusterProcesses.StartSilo(root, env, Path.Combine(folder, $"silo{++started}.log"));
            for (int i = 0; i < Silos; i++) silos.Add(StartSilo());
            await using var client = await ClusterProcesses.Connect(
                [new("Storage:ConnectionString", storage.ConnectionString), new("Cluster:ClusterId", id)], TimeSpan.FromSeconds(120));
            await WaitForSilos(client.Client, Silos, TimeSpan.FromSeconds(120));

            var cli = new Dictionary<string, string> { ["Storage__ConnectionString"] = storage.ConnectionString, ["Cluster__ClusterId"] = id };
            var clock = Stopwatch.StartNew();
            var submit = await ClusterProcesses.Cli(root, cli, "job", "submit", "--source", "chaos/in", "--out", "chaos/out", "--format", "csv",
                "--shard-size", $"{settings.ShardSize}", "--job-id", id);
            if (submit.ExitCode != 0) return new Trial(fault, number, false, null, null, 0, $"dpiqa job submit exited {submit.ExitCode}: {submit.Output}");

            var job = client.Client.GetGrain<IJobGrain>(id);
            JobStatus? status = null;
            string? callError = null;
            TimeSpan? paceExpected = null;
            (TimeSpan At, long Done)? tenth = null; // where the pace before the fault is measured from
            bool third = false; // the fault goes in once a third of the images are done
            var rng = new Random(number * 100 + Array.IndexOf(Faults, fault)); // which silo dies: the same in every invocation
            while (status is not { IsFinished: true })
            {
                if (clock.Elapsed > settings.Timeout)
                    return new Trial(fault, number, false, null, null, 0, $"timed out after {settings.Timeout.TotalSeconds:F0} s: " +
                        (status is null ? "no status" : $"{status.State} {status.Done}/{status.Total}, {status.ShardsLeased} shards leased") +
                        (callError is null ? "" : $"; last status call failed: {callError}") + (injection is { IsCompletedSuccessfully: true } ? $"; fault: {injection.Result}" : ""));
                await Task.Delay(250);
                try
                {
                    // Bounded, so a call stuck on a dead coordinator does not hide the moment the job ends.
                    status = await job.GetStatus().WaitAsync(TimeSpan.FromSeconds(5));
                    callError = null;
                }
                catch (Exception e) // any failure while a fault is under way is retried until the trial's timeout
                {
                    callError = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
                }
                if (tenth is null && status is { ListingDone: true } p && p.Done >= p.Total / 10) tenth = (clock.Elapsed, p.Done);
                if (!third && status is { ListingDone: true, IsFinished: false } s && s.Done >= s.Total / 3)
                {
                    // The fault-free run gets the same pace estimate, which shows how far the estimate itself is off.
                    third = true;
                    if (tenth is { } t && s.Done > t.Done)
                        paceExpected = clock.Elapsed + (clock.Elapsed - t.At) * (s.Total - s.Done) / (s.Done - t.Done);
                    if (fault != NoFault) injection = Inject(fault, s, silos, storage, StartSilo, rng);
                }
            }
            var duration = clock.Elapsed;
            string what = injection is null ? "" : await injection;
            if (fault != NoFault && injection is null) return new Trial(fault, number, false, duration, null, 0, "the job finished before the fault: use more --images");
            var (ok, spurious, detail) = await Check(root, cli, job, status, inputs, folder);
            held = ok;
            return new Trial(fault, number, ok, duration, duration - paceExpected, spurious, $"{what}{(what.Length > 0 ? "; " : "")}{detail}");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or Azure.RequestFailedException)
        {
            return new Trial(fault, number, false, null, null, 0, $"trial broke: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            if (injection is not null)
                try { await injection; }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException) { } // reported by the trial's status above
            foreach (var silo in silos) silo.Dispose();
            storage?.Dispose();
            if (held && !settings.Keep) Directory.Delete(folder, recursive: true);
            else Console.WriteLine($"  logs and storage of {id}: {folder}");
        }
    }

    /// <summary>Waits until the cluster's membership lists <paramref name="count"/> active silos, so every trial starts alike.</summary>
    private static async Task WaitForSilos(IClusterClient client, int count, TimeSpan timeout)
    {
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(500))
        {
            var active = (await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count;
            if (active >= count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {active} of {count} silos joined within {timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>Injects the fault; returns what was done. Killed or stopped silos are started again at once (new ports).</summary>
    private static async Task<string> Inject(string fault, JobStatus at, List<SiloHost> silos, AzuriteServer storage, Func<SiloHost> startSilo, Random rng)
    {
        var prefix = $"at {at.Done}/{at.Total}: ";
        string Name(SiloHost s) => $"silo :{s.SiloPort}{(s.Hosts(at.Coordinator) ? " (coordinator)" : "")}";
        async Task<string> Replace(IReadOnlyList<SiloHost> victims, string signal)
        {
            var names = string.Join(" and ", victims.Select(Name));
            var clock = Stopwatch.StartNew();
            foreach (var victim in victims)
            {
                if (signal == "KILL") victim.Process.Kill();
                else ChildProcess.Signal(victim.Process, signal);
            }
            var exited = Task.WhenAll(victims.Select(v => v.Process.WaitForExitAsync()));
            bool forced = false;
            if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(60))) != exited)
            {
                forced = true; // a graceful stop that hangs is killed, as a process manager would after its grace period
                foreach (var v in victims) v.Process.Kill();
                await exited;
            }
            var stopped = clock.Elapsed;
            foreach (var victim in victims)
            {
                silos.Remove(victim);
                victim.Dispose();
                silos.Add(startSilo());
            }
            return $"{prefix}SIG{signal} {names}{(signal == "TERM" ? $", exited after {stopped.TotalSeconds:F1} s{(forced ? " (killed after 60 s)" : "")}" : "")}, restarted";
        }

        switch (fault)
        {
            case "kill-silo":
                return await Replace([silos[rng.Next(silos.Count)]], "KILL");
            case "kill-coordinator":
                var coordinator = silos.SingleOrDefault(s => s.Hosts(at.Coordinator))
                                  ?? throw new InvalidOperationException($"no silo process matches the coordinator {at.Coordinator}");
                return await Replace([coordinator], "KILL");
            case "term-silo":
                return await Replace([silos[rng.Next(silos.Count)]], "TERM");
            case "kill-two-silos":
                return await Replace(silos.OrderBy(_ => rng.Next()).Take(2).ToList(), "KILL");
            case "pause-storage":
                ChildProcess.Signal(storage.Process, "STOP");
                await Task.Delay(StoragePause);
                ChildProcess.Signal(storage.Process, "CONT");
                return $"{prefix}Azurite paused {StoragePause.TotalSeconds:F0} s";
            case "restart-storage":
                var clock = Stopwatch.StartNew();
                await storage.KillAndRestart();
                return $"{prefix}Azurite SIGKILL, listening again after {clock.Elapsed.TotalSeconds:F1} s";
            default:
                throw new InvalidOperationException($"unknown fault {fault}");
        }
    }

    /// <summary>The merged results (<c>dpiqa job results</c>) against the inputs; the status and summary totals against both.</summary>
    private static async Task<(bool Held, int Spurious, string Detail)> Check(string root, Dictionary<string, string> cli, IJobGrain job, JobStatus status,
        Dictionary<string, (byte[] Content, bool Corrupt)> inputs, string folder)
    {
        if (status.State != JobState.Completed) return (false, 0, $"job ended {status.State}: {status.Message}");
        var file = Path.Combine(folder, "results.csv");
        var merge = await ClusterProcesses.Cli(root, cli, "job", "results", status.JobId, "--out", file);
        if (merge.ExitCode != 0) return (false, 0, $"dpiqa job results exited {merge.ExitCode}: {merge.Output}");
        var rows = await ResultFiles.Decode(await File.ReadAllBytesAsync(file), ResultFormat.Csv);
        var summary = await job.GetSummary();

        var times = rows.GroupBy(r => r.Path).ToDictionary(g => g.Key, g => g.ToList());
        var problems = new List<string>();
        void Count(string what, int n) { if (n > 0) problems.Add($"{n} {what}"); }
        Count("images missing", inputs.Keys.Count(k => !times.ContainsKey(k)));
        Count("images more than once", times.Count(t => t.Value.Count > 1));
        Count("rows for no input", times.Keys.Count(k => !inputs.ContainsKey(k)));
        Count("corrupt images scored", inputs.Count(i => i.Value.Corrupt && times.TryGetValue(i.Key, out var r) && r.Any(x => x.Status == ImageResult.Ok)));
        int scoredRows = rows.Count(r => r.Status == ImageResult.Ok);
        if (status.Total != inputs.Count || status.Scored + status.Failed != inputs.Count || status.Scored != scoredRows)
            problems.Add($"status totals {status.Scored} scored + {status.Failed} failed of {status.Total}, results have {scoredRows} scored of {rows.Count}, inputs {inputs.Count}");
        if (summary.All.Count != inputs.Count || summary.All.Scored != scoredRows)
            problems.Add($"summary counts {summary.All.Scored} scored of {summary.All.Count}");

        // Good images that ended as error records (e.g. a fetch failing while storage was down): still exactly once, but reported.
        var spurious = rows.Where(r => r.Status != ImageResult.Ok && inputs.TryGetValue(r.Path, out var i) && !i.Corrupt).ToList();
        var kinds = string.Join(", ", spurious.GroupBy(r => r.ErrorKind).Select(g => $"{g.Key} {g.Count()}"));
        var detail = problems.Count == 0
            ? $"{inputs.Count} images exactly once ({scoredRows} scored, {rows.Count - scoredRows} errors){(spurious.Count > 0 ? $"; good images as errors: {kinds}" : "")}"
            : string.Join("; ", problems);
        return (problems.Count == 0, spurious.Count, detail);
    }

    private static void PrintTable(List<Trial> trials, Settings settings)
    {
        var baseline = trials.Where(t => t.Fault == NoFault && t.Held && t.Duration is not null).Select(t => t.Duration!.Value.TotalSeconds).Order().ToList();
        double? reference = baseline.Count > 0 ? Median(baseline) : null;
        Console.WriteLine();
        Console.WriteLine($"fault-free job: {(reference is { } r ? $"{r:F1} s (median of {baseline.Count})" : "no successful run, time added unknown")}");
        Console.WriteLine("| fault | trials | held | time added, median | time added, max | added vs own pace, median | added vs own pace, max | good images as errors |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var fault in new[] { NoFault }.Concat(settings.Faults))
        {
            var of = trials.Where(t => t.Fault == fault).ToList();
            var added = of.Where(t => t.Duration is not null && reference is not null).Select(t => t.Duration!.Value.TotalSeconds - reference!.Value).Order().ToList();
            var pace = of.Where(t => t.PaceAdded is not null).Select(t => t.PaceAdded!.Value.TotalSeconds).Order().ToList();
            string Seconds(List<double> values, bool max) => values.Count == 0 ? "--" : $"{(max ? values[^1] : Median(values)):+0.0;-0.0;0.0} s";
            Console.WriteLine($"| {fault} | {of.Count} | {of.Count(t => t.Held)} | {Seconds(added, false)} | {Seconds(added, true)} | {Seconds(pace, false)} | {Seconds(pace, true)} | {of.Sum(t => t.SpuriousErrors)} |");
        }
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
