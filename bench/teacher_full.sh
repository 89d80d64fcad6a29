#!/bin/bash
# The full-size DP-IQA teacher (SD1.5 widths, 1.0 B parameters) with random weights, end to end on this machine:
#   1. export.py teacher --random-weights: export time, peak RSS, ONNX graph + external data size
#   2. PyTorch's own forward of the same weights (bench/teacher_torch.py): seconds per image, scores, what folding
#      the text context saves per image
#   3. dpiqa score --model dpiqa-teacher (ONNX Runtime, the shipped pipeline): 1 image alone (its result row's ms is
#      one batch-1 forward with decode and resize; the rest of the command is start + session load) and N images
#      (seconds per image with the silo's batching, the start + load taken off); peak RSS and CPU seconds;
#      scores against PyTorch's (max |diff|; the C# decode + resize differs from PIL's by ~1e-3 on its own)
#   4. the cascade with the real-size pair: dpiqa-student (export.py student --random-weights) alone, and with
#      --cascade dpiqa-teacher at two bands around the median student score (one image rescored, all rescored)
# Every step runs under a memory cap (prlimit --as; dotnet's GC is limited so its address-space reservation fits
# under it) with nice, and /usr/bin/time -v gives its peak RSS. Slow: ~1-3 min per teacher image on 2 busy cores.
# usage: bench/teacher_full.sh [OUT] [N_IMAGES]   (default .cache/bench/teacher-full, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-.cache/bench/teacher-full}")
n=${2:-2}
cap_python=${TEACHER_CAP_PYTHON:-20G}
cap_dotnet=${TEACHER_CAP_DOTNET:-24G}
mkdir -p "$out"
log="$out/bench.log"
: > "$log"
say() { echo "$*" | tee -a "$log"; }
mapfile -t images < <(ls samples/photos/*.jpg | head -n "$n")
first=("${images[0]}")
say "# teacher_full $(date -u +%FT%TZ) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2 " GiB, " $7 " GiB available"}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# images: ${images[*]}"
peak() { awk -F': ' '/Maximum resident set size/ {printf "%.2f GiB", $2 / 1048576}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }
step() { # step NAME CAP COMMAND...: run under the cap with nice, log wall time and peak RSS
  local name=$1 cap=$2; shift 2
  local t="$out/$name.time"
  local s0 s1
  s0=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$t" prlimit --as="$(numfmt --from=iec "$cap")" -- nice -n 10 "$@" >> "$log" 2>&1; then
    say "$name: FAILED (see $log; cap $cap)"; return 1
  fi
  s1=$(date +%s.%N)
  printf -v "secs_$name" '%.1f' "$(echo "$s1 - $s0" | bc -l)"
  local v="secs_$name"
  say "$name: ${!v} s wall, peak RSS $(peak "$t") (cap $cap address space)"
}

# The dotnet CLI, built once; its GC reserves address space for at most 2 GiB of heap so a prlimit cap applies.
dotnet build Client -c Release -v q -nologo > "$out/build.log" 2>&1 || { say "dotnet build failed: $out/build.log"; exit 1; }
dll=$(ls Client/bin/Release/*/dpiqa.dll | head -1)

models="$out/catalog"
rm -rf "$models"
if [ "${TEACHER_REUSE_EXPORT:-0}" = 1 ] && [ -f "$out/export/dpiqa-teacher/dpiqa-teacher.json" ]; then
  # The export takes most of an hour on 2 cores: TEACHER_REUSE_EXPORT=1 measures the later steps on the exports there
  # (the student's too).
  say "## 1. export: reused (TEACHER_REUSE_EXPORT=1): $(grep -h 'Elapsed\|Maximum resident' "$out/export.time" 2>/dev/null | tr -s ' ' | paste -sd';')"
else
  rm -rf "$out/export"
  say "## 1. export"
  step export "$cap_python" /usr/bin/python3 tools/export/export.py teacher --random-weights --seed 0 --score-range 0,1 \
    --out "$out/export" --name dpiqa-teacher --version random-seed0
fi
say "onnx: $(du -b "$out/export/dpiqa-teacher/dpiqa-teacher.onnx" | cut -f1) bytes graph + $(du -b "$out/export/dpiqa-teacher/dpiqa-teacher.onnx.data" | cut -f1) bytes external data"
if [ "${TEACHER_REUSE_EXPORT:-0}" = 1 ] && [ -f "$out/export/dpiqa-student/dpiqa-student.json" ]; then
  say "export_student: reused (TEACHER_REUSE_EXPORT=1)"
else
  step export_student "$cap_python" /usr/bin/python3 tools/export/export.py student --random-weights --calibrate samples/photos/*.jpg \
    --score-range 0,1 --out "$out/export" --name dpiqa-student --version random-seed0
fi
for m in dpiqa-teacher dpiqa-student; do DOTNET_GCHeapHardLimit=0x80000000 dotnet "$dll" models import "$out/export/$m" --models-dir "$models" >> "$log" 2>&1; done

say "## 2. PyTorch forward of the same weights"
step torch "$cap_python" /usr/bin/python3 bench/teacher_torch.py "$out/torch.json" "${images[@]}"

say "## 3. ONNX Runtime through dpiqa score"
score() { # score NAME MODEL IMAGES... [-- extra options]
  local name=$1 model=$2; shift 2
  local files=() extra=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
  [ "${1:-}" = "--" ] && { shift; extra=("$@"); }
  rm -rf "$out/$name"
  step "$name" "$cap_dotnet" env DOTNET_GCHeapHardLimit=0x80000000 dotnet "$dll" score "${files[@]}" --model "$model" \
    --out "$out/$name" --models-dir "$models" --json "${extra[@]}"
}
score teacher_1 dpiqa-teacher "${first[@]}"
score teacher_n dpiqa-teacher "${images[@]}"
/usr/bin/python3 - "$out" "$n" "$secs_teacher_1" "$secs_teacher_n" <<'EOF' | tee -a "$log"
import csv, json, sys
out, n, t1, tn = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
torch = json.load(open(f"{out}/torch.json"))
rows = lambda name: list(csv.DictReader(open(f"{out}/{name}/results.csv")))
ort = {r["path"]: float(r["score"]) for r in rows("teacher_n") if r["score"]}
# One image alone: its row's ms is fetch + decode + resize + one batch-1 forward (no queueing); the rest of the
# command's wall time is process start and session load. N images: that overhead taken off, the rest is N images'
# scoring with the silo's batching (several images in one forward when they arrive together).
latency = float(rows("teacher_1")[0]["ms"]) / 1000
overhead = t1 - latency
per = max(tn - overhead, 0) / n
tp = sum(torch["seconds_per_image"]) / len(torch["seconds_per_image"])
def cpu(step):
    fields = dict(l.strip().split(": ", 1) for l in open(f"{out}/{step}.time") if ": " in l)
    return float(fields["User time (seconds)"]) + float(fields["System time (seconds)"])
diffs = {p: abs(ort[p] - s) for p, s in torch["scores"].items() if p in ort}
print(f"ORT (dpiqa score): one image alone {latency:.1f} s (batch 1), {per:.1f} s/image over {n} images (batched), start + session load ~{overhead:.1f} s; "
      f"PyTorch ({torch['threads']} threads, batch 1): {tp:.1f} s/image")
print(f"ratio, batch 1: PyTorch/ORT time {tp / latency:.2f}; over {n} images: " + (f"{tp / per:.2f}" if per > 0 else "not measurable (the load changed between the runs)"))
print(f"CPU seconds (user + sys): PyTorch step {cpu('torch'):.0f} (build, fold, {len(torch['seconds_per_image'])} forwards, unfolded timing); ORT 1 image {cpu('teacher_1'):.0f}, {n} images {cpu('teacher_n'):.0f}")
print(f"scores ORT vs PyTorch: max |diff| {max(diffs.values()):.2e} over {len(diffs)} images: " + ", ".join(f"{p} {ort[p]:.5f}/{torch['scores'][p]:.5f}" for p in diffs))
print(f"folding the text context saves {torch['unfolded_extra_gmac_per_image']:.1f} GMAC and {torch['unfolded_extra_s_per_image']:.2f} s per image in PyTorch "
      f"({100 * torch['unfolded_extra_s_per_image'] / tp:.1f}% of its forward)")
EOF

say "## 4. cascade with the real-size pair"
score student dpiqa-student "${images[@]}"
read -r threshold narrow wide < <(/usr/bin/python3 - "$out/student/results.csv" <<'EOF'
import csv, sys
s = sorted(float(r["score"]) for r in csv.DictReader(open(sys.argv[1])) if r["score"])
x = s[len(s) // 2]
d = sorted(abs(v - x) for v in s)
print(f"{x!r} {max(d[0], 1e-9) * 1.001 + 1e-7!r} {d[-1] * 1.001 + 1e-7!r}")
EOF
)
say "threshold $threshold (median student score), bands $narrow and $wide"
score cascade_narrow dpiqa-student "${images[@]}" -- --reject-below "$threshold" --cascade dpiqa-teacher --band "$narrow"
score cascade_wide dpiqa-student "${images[@]}" -- --reject-below "$threshold" --cascade dpiqa-teacher --band "$wide"
/usr/bin/python3 - "$out" "$n" "$secs_student" "$secs_teacher_n" "$secs_cascade_narrow" "$secs_cascade_wide" <<'EOF' | tee -a "$log"
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
for name, secs in zip(("student", "teacher_n", "cascade_narrow", "cascade_wide"), map(float, sys.argv[3:])):
    summary = json.load(open(f"{out}/{name}/summary.json"))
    c = summary.get("cascade")
    share = f", rescored {c['rescored']}/{n} ({100 * c['rescored'] / n:.0f}%)" if c else ""
    print(f"{name}: {n / secs:.4f} images/s ({secs:.1f} s for {n} images, model load included){share}")
EOF
say "# done $(date -u +%FT%TZ)"
