#!/usr/bin/env bash
# docs/cluster.md, "Watch it scale": Azurite + one coordinator silo (Scoring__Enabled=false) + a job of generated images; then
# scoring silos are started one by one as /scaling asks for them, using KEDA's formula for the production overlay's
# ScaledObject (desired = ceil(pendingShards / TARGET), at most MAX_SILOS, 0 when no job is active), one is stopped with
# SIGTERM mid-job (it drains), and idle silos are stopped again once nothing is pending for COOLDOWN seconds.
# At the end: per-silo work (from each silo's /metrics), the /scaling readings over time, and the check that the job
# completed with every image exactly once. Everything started here is stopped on exit.
#   scripts/scale-demo.sh [IMAGES (default 2400)]
# Environment: TARGET (pending shards per silo, 10), MAX_SILOS (3), COOLDOWN (10 s), SHARD_SIZE (20), and the ports
# BLOB_PORT QUEUE_PORT TABLE_PORT (10300-10302), BASE_PORT (silo i: 11400+i, gateway 30400+i, HTTP 18400+i).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGES=${1:-2400}
TARGET=${TARGET:-10}
MAX_SILOS=${MAX_SILOS:-3}
COOLDOWN=${COOLDOWN:-10}
SHARD_SIZE=${SHARD_SIZE:-20}
BLOB_PORT=${BLOB_PORT:-10300}
QUEUE_PORT=${QUEUE_PORT:-10301}
TABLE_PORT=${TABLE_PORT:-10302}
WORK=.cache/scale-demo

fail() { echo "scale-demo: $*" >&2; exit 1; }
source scripts/lib.sh # cd'ed to the repository root above
check_ports_of "set BLOB_PORT/QUEUE_PORT/TABLE_PORT" "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT" 11400 30400 18400
mkdir -p .cache
rm -rf "$WORK" && mkdir -p "$WORK/images"
echo "== building (Release)"
dotnet build -c Release Silo -v q -nologo > "$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; fail "the build failed"; }
dotnet build -c Release Client -v q -nologo >> "$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; fail "the build failed"; }
[ -x .cache/azurite/node_modules/.bin/azurite ] || npm install --silent --no-audit --no-fund --prefix .cache/azurite azurite@3.37.0

AZURITE=""
declare -A PID=()   # silo number -> process id (silo 0 is the coordinator)
stop_all() {
  # Silos first (leaving the cluster writes to the membership table), then Azurite.
  for n in "${!PID[@]}"; do kill "${PID[$n]}" 2> /dev/null || true; done
  for _ in $(seq 40); do
    alive=""
    for n in "${!PID[@]}"; do kill -0 "${PID[$n]}" 2> /dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 1
  done
  for n in "${!PID[@]}"; do kill -9 "${PID[$n]}" 2> /dev/null || true; done
  [ -n "$AZURITE" ] && kill "$AZURITE" 2> /dev/null || true
  wait 2> /dev/null || true
}
trap stop_all EXIT

.cache/azurite/node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" \
  --tableHost 127.0.0.1 --tablePort "$TABLE_PORT" > "$WORK/azurite.log" 2>&1 &
AZURITE=$!
for port in "$BLOB_PORT" "$TABLE_PORT"; do
  until listening "$port"; do kill -0 "$AZURITE" 2> /dev/null || fail "Azurite exited at start"; sleep 0.2; done
done
export Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
export Cluster__ClusterId="dpiqa-scale-demo-$$"
export Logging__LogLevel__Default=Warning
cluster_pki "$WORK/pki" '*' # mutual TLS and an admin token (docs/security.md)
dpiqa() { dotnet Client/bin/Release/net10.0/dpiqa.dll "$@"; }

# Silo n: ports 11400+n, 30400+n, HTTP 18400+n. Silo 0 coordinates only; the others score, each slowed to one shard
# and two images at a time so that a few thousand small images keep them busy for a few minutes on a laptop.
start_silo() {
  local n=$1; shift
  env "${SILO_SECURITY[@]}" Cluster__SiloPort=$((11400 + n)) Cluster__GatewayPort=$((30400 + n)) Http__Port=$((18400 + n)) \
    Scoring__ConcurrentShards=1 Scoring__ImagesInFlight=2 Scoring__DecodeThreads=1 Inference__MaxBatch=2 \
    Scoring__DrainSeconds=20 "$@" dotnet Silo/bin/Release/net10.0/DpIqa.Silo.dll > "$WORK/silo$n.log" 2>&1 &
  PID[$n]=$!
}
http() { curl -s --max-time 5 "http://127.0.0.1:$((18400 + $1))$2" || true; } # empty while the silo is not up
field() { sed -nE "s/.*\"$1\":([0-9]+).*/\1/p"; }
# Sum of a metric's samples on silo n (0 when it does not answer).
metric() { http "$1" /metrics | awk -v name="$2" '$1 ~ "^" name "(\\{|$)" { s += $NF } END { printf "%d", s }'; }

echo "== coordinator silo (Scoring__Enabled=false), then $IMAGES generated images"
start_silo 0 Scoring__Enabled=false
until [ "$(http 0 /healthz/ready)" = '{"status":"ready"}' ]; do
  kill -0 "${PID[0]}" 2> /dev/null || fail "the coordinator exited at start; see $WORK/silo0.log"
  sleep 1
done
# Small BMPs, each different (a gradient and a few noise lines), written with the standard library only.
python3 - "$WORK/images" "$IMAGES" <<'PY'
import os, random, struct, sys
root, count = sys.argv[1], int(sys.argv[2])
w, h = 64, 48
row = (w * 3 + 3) & ~3
for i in range(count):
    rnd = random.Random(i)
    folder = os.path.join(root, f"set-{i % 4}")
    os.makedirs(folder, exist_ok=True)
    pixels = bytearray()
    for y in range(h):
        line = bytearray()
        noisy = rnd.random() < 0.3
        for x in range(w):
            v = (x * 4 + y * 2 + i) % 256
            n = rnd.randrange(64) if noisy else 0
            line += bytes(((v + n) % 256, (v * 3) % 256, (255 - v) % 256))
        pixels += line + b"\0" * (row - len(line))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    with open(os.path.join(folder, f"img-{i:05d}.bmp"), "wb") as f:
        f.write(header + info + pixels)
PY
dpiqa upload "$WORK/images" --to demo/in > /dev/null
JOB=$(dpiqa job submit --source demo/in --out demo/out --shard-size "$SHARD_SIZE" --format csv)
echo "job $JOB: $IMAGES images in shards of $SHARD_SIZE; KEDA's formula: desired silos = ceil(pendingShards / $TARGET), at most $MAX_SILOS"

# The autoscaler loop: read /scaling every 2 s, start one silo at a time while fewer run than desired; stop idle
# silos (SIGTERM) once nothing is pending for COOLDOWN s; SIGTERM the first scoring silo once half the images are done.
declare -A LAST=()  # silo -> "images shards" from its last /metrics scrape (kept after it stopped)
scoring=()          # running scoring silos (not stopped by this script)
all=()              # every scoring silo started, scraped until its process exits (a draining silo still works)
next=1
seen_active=0
terminated=""
idle_since=$SECONDS
started=$SECONDS
printf '%6s %10s %13s %13s %13s %13s %8s  %s\n' time activeJobs pendingShards leasedShards pendingItems scoringSilos running action | tee "$WORK/scaling.txt"
while true; do
  reading=$(http 0 /scaling || true)
  active=$(echo "$reading" | field activeJobs); pending=$(echo "$reading" | field pendingShards)
  leased=$(echo "$reading" | field leasedShards); items=$(echo "$reading" | field pendingItems); silos=$(echo "$reading" | field scoringSilos)
  [ -z "$active" ] && { sleep 1; continue; }
  desired=$(( (pending + TARGET - 1) / TARGET )); [ "$desired" -gt "$MAX_SILOS" ] && desired=$MAX_SILOS
  action=""
  for n in "${all[@]}"; do
    kill -0 "${PID[$n]}" 2> /dev/null || continue
    m=$(metric "$n" dpiqa_images_scored_total); s=$(metric "$n" dpiqa_shards_completed_total)
    [ "$m" -ge "$(echo "${LAST[$n]:-0 0}" | cut -d' ' -f1)" ] && LAST[$n]="$m $s"
  done
  if [ "$active" -gt 0 ]; then seen_active=1; idle_since=$SECONDS; fi
  if [ "${#scoring[@]}" -lt "$desired" ]; then
    start_silo "$next"; scoring+=("$next"); all+=("$next"); LAST[$next]="0 0"; action="start silo $next"; next=$((next + 1))
  elif [ -z "$terminated" ] && [ "$seen_active" = 1 ] && [ "$items" -le $((IMAGES / 2)) ] && [ "${#scoring[@]}" -gt 1 ]; then
    terminated=${scoring[0]}; kill -TERM "${PID[$terminated]}"; scoring=("${scoring[@]:1}"); action="SIGTERM silo $terminated (drains)"
  elif [ "$desired" -eq 0 ] && [ "${#scoring[@]}" -gt 0 ] && [ $((SECONDS - idle_since)) -ge "$COOLDOWN" ]; then
    n=${scoring[-1]}; kill -TERM "${PID[$n]}"; unset 'scoring[-1]'; action="cooldown over: SIGTERM silo $n"
  fi
  printf '%5ds %10s %13s %13s %13s %13s %8s  %s\n' $((SECONDS - started)) "$active" "$pending" "$leased" "$items" "$silos" "${#scoring[@]}" "$action" | tee -a "$WORK/scaling.txt"
  if [ "$seen_active" = 1 ] && [ "$active" -eq 0 ] && [ "${#scoring[@]}" -eq 0 ]; then
    for n in "${all[@]}"; do while kill -0 "${PID[$n]}" 2> /dev/null; do sleep 1; done; done # the stopped silos drain and exit
    break
  fi
  [ $((SECONDS - started)) -lt 1800 ] || fail "the job did not end within 30 minutes"
  sleep 2
done

echo "== per-silo work (dpiqa_images_scored_total and dpiqa_shards_completed_total, last scrape of each silo's /metrics)"
total=0
for n in $(printf '%s\n' "${!LAST[@]}" | sort -n); do
  read -r m s <<< "${LAST[$n]}"
  note=""; [ "$n" = "$terminated" ] && note="  (stopped with SIGTERM mid-job)"
  printf '  silo %d: %6d images, %4d shards%s\n' "$n" "$m" "$s" "$note"
  total=$((total + m))
done
echo "  sum: $total images scored by the silos (more than the job's total only if a shard was redone)"
echo "== job"
dpiqa job status "$JOB" | sed 's/^/  /'
dpiqa job results "$JOB" --out "$WORK/results.csv" > /dev/null
rows=$(($(wc -l < "$WORK/results.csv") - 1))
unique=$(tail -n +2 "$WORK/results.csv" | cut -d, -f1 | sort -u | wc -l)
echo "  results: $rows rows, $unique distinct images, $IMAGES uploaded"
[ "$rows" -eq "$IMAGES" ] && [ "$unique" -eq "$IMAGES" ] || fail "the results do not hold every image exactly once"
echo "every image exactly once"
