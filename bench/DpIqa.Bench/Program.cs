using System.Diagnostics;
using System.Globalization;
using DpIqa.Bench;

// dotnet run -c Release --project bench/DpIqa.Bench -- brisque [small N] [camera N] | preprocess [speed|breakdown|calibrate|fidelity|heldout ...] | pipeline | student [images [probe [full]]] | student-ort | cluster | coordinator | coordinator-azurite [listing|blobs|both [N [writes in flight]] | writes [lists]] | memory [N ...] | incremental | large-model [FOLDER] | all
//                                                 -- dedup [index [N ...] [--distance D] | accuracy | hashcost] (docs/duplicates.md; not part of all)
//                                                 -- chaos [--trials N] [--images N] [--faults a,b] (not part of all; see scripts/chaos.sh)
var what = args.FirstOrDefault() ?? "all";
var root = Repo.Root;
if (what is "chaos") return await ChaosBench.Run(root, args[1..]);
if (what is "dedup") { await DedupBench.Run(root, args[1..]); return 0; } // index [N ...] [--distance D] | accuracy | hashcost (not part of all)
if (what is "brisque") { await BrisqueBench.Run(root, args[1..]); return 0; } // not part of all: needs python3-opencv
if (what is "memory-one") return await MemoryBench.One(root, int.Parse(args[1], CultureInfo.InvariantCulture));
// large-model [FOLDER]: a generated 4 GiB external-data model; import, hash and load (not part of all: run it under a memory cap)
if (what is "large-model-one") return LargeModelBench.One(args[1..]);
if (what is "large-model") { await LargeModelBench.Run(args[1..]); return 0; }
if (what is "preprocess" or "all") await PreprocessBench.Run(root, what == "preprocess" ? args[1..] : []); // [speed] [breakdown] [calibrate] [fidelity] [heldout]
if (what is "pipeline" or "all") await PipelineBench.Run(root);
if (what is "student" or "all") await StudentBench.Run(root, what == "student" ? args[1..] : []);
if (what is "student-ort" or "all") await StudentOrtBench.Run(root);
if (what is "cluster" or "all") await ClusterBench.Run(root);
if (what is "incremental" or "all") await IncrementalBench.Run(root);
if (what is "coordinator" or "all")
{
    await CoordinatorBench.Run(root, CoordinatorBench.Storage.Local, shardSize: 1000);
    await CoordinatorBench.Run(root, CoordinatorBench.Storage.Local, shardSize: 256);
    await CoordinatorBench.Run(root, CoordinatorBench.Storage.Local, shardSize: 1000, folders: 1); // docs/benchmarks.md's "1 folder" row
}
// coordinator-azurite [listing [N] | blobs [N] | both]: a 1,000,000-line listing file in blob by default; "blobs" lists
// 200,000 real blobs (created once into .cache/bench-azurite, which takes long on Azurite: not part of "all")
if (what is "coordinator-azurite" or "all")
{
    var kind = what == "coordinator-azurite" && args.Length > 1 ? args[1] : "listing";
    if (kind is "writes") await CoordinatorBench.Writes(root, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1000);
    int? n = what == "coordinator-azurite" && args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : null;
    // A fourth argument: Jobs:ItemListWritesInFlight for the run (e.g. 16, 32, 64), to compare them.
    int? inFlight = what == "coordinator-azurite" && args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : null;
    if (kind is "blobs" or "both") await CoordinatorBench.Run(root, CoordinatorBench.Storage.AzuriteBlobs, items: n ?? 200_000, shardSize: 1000, itemListWrites: inFlight);
    if (kind is "listing" or "both") await CoordinatorBench.Run(root, CoordinatorBench.Storage.AzuriteListingFile, items: n ?? 1_000_000, shardSize: 1000, itemListWrites: inFlight);
}
if (what is "memory" or "all") await MemoryBench.Run(root, what == "memory" ? args[1..] : []);
return 0;

namespace DpIqa.Bench
{
    internal static class Repo
    {
        public static string Root { get; } = Find();

        private static string Find()
        {
            for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "DpIqa.Cluster.sln"))) return d.FullName;
            throw new InvalidOperationException("run from inside the repository");
        }

        /// <summary>Runs the PIL baseline script; returns its best ms/image.</summary>
        public static double Pil(int workers, int repeats, IEnumerable<string> files, bool draft = false, int draftSide = 512)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            string[] head = [Path.Combine(Root, "bench", "pil_preprocess.py"), workers.ToString(), repeats.ToString(), .. (draft ? new[] { $"--draft={draftSide}" } : [])];
            foreach (var a in head.Concat(files))
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"PIL baseline failed (is python3-pil installed?): {error}");
            var field = output.Split(' ').Single(f => f.StartsWith("best_ms_per_image="));
            return double.Parse(field.Split('=')[1], CultureInfo.InvariantCulture);
        }
    }
}
