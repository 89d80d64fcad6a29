#!/usr/bin/env bash
# docs/curation.md, "Nightly curation": Azurite + ONE silo process on loopback, a schedule with a cron of every minute over
# the shipped photos, two runs with photos added between them, then the schedule deleted; everything started here is
# stopped on exit. Ports differ from scripts/local-cluster.sh so both can run; override them like there:
#   BLOB_PORT=10920 QUEUE_PORT=10921 TABLE_PORT=10922 SILO_PORT=11920 GATEWAY_PORT=30920 scripts/nightly-demo.sh
set -euo pipefail
BLOB_PORT=${BLOB_PORT:-10910}
QUEUE_PORT=${QUEUE_PORT:-10911}
TABLE_PORT=${TABLE_PORT:-10912}
SILO_PORT=${SILO_PORT:-11910}
GATEWAY_PORT=${GATEWAY_PORT:-30910}

fail() { echo "nightly-demo: $*" >&2; exit 1; }
source "$(dirname "$0")/lib.sh"
check_ports() { check_ports_of "pick free ports with BLOB_PORT QUEUE_PORT TABLE_PORT SILO_PORT GATEWAY_PORT" "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT" "$SILO_PORT" "$GATEWAY_PORT"; }

check_ports
mkdir -p .cache
dotnet build -c Release DpIqa.Cluster.sln -v q -nologo > .cache/nightly-build.log || { cat .cache/nightly-build.log; fail "the build failed"; }
[ -x .cache/azurite/node_modules/.bin/azurite ] || npm install --silent --no-audit --no-fund --prefix .cache/azurite azurite@3.37.0
check_ports

AZURITE=""
SILO=""
# The silo first (leaving writes to the membership table), Azurite last.
stop_all() {
  [ -n "$SILO" ] && kill "$SILO" 2> /dev/null || true
  for _ in $(seq 30); do { [ -n "$SILO" ] && kill -0 "$SILO" 2> /dev/null; } || break; sleep 1; done
  [ -n "$SILO" ] && kill -9 "$SILO" 2> /dev/null || true
  [ -n "$AZURITE" ] && kill "$AZURITE" 2> /dev/null || true
  wait 2> /dev/null || true
}
trap stop_all EXIT
.cache/azurite/node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" \
  --tableHost 127.0.0.1 --tablePort "$TABLE_PORT" > .cache/nightly-azurite.log 2>&1 &
AZURITE=$!
for port in "$BLOB_PORT" "$TABLE_PORT"; do
  until listening "$port"; do
    kill -0 "$AZURITE" 2> /dev/null || fail "Azurite exited at start (could it bind 127.0.0.1:$port?)"
    sleep 0.2
  done
done
sleep 1
# Another process that took a port between the check and the start would leave this Azurite dead and the demo
# talking to someone else's storage: stop instead.
kill -0 "$AZURITE" 2> /dev/null || fail "Azurite exited at start: another process holds one of its ports"

export Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
export Cluster__ClusterId="dpiqa-nightly-${USER:-$(id -un)}-$$"
cluster_pki .cache/nightly-pki '*' # mutual TLS and an admin token (docs/security.md)
env "${SILO_SECURITY[@]}" Cluster__SiloPort=$SILO_PORT Cluster__GatewayPort=$GATEWAY_PORT Http__Port=0 \
  dotnet Silo/bin/Release/net10.0/DpIqa.Silo.dll > .cache/nightly-silo.log 2>&1 &
SILO=$!
dpiqa() { dotnet Client/bin/Release/net10.0/dpiqa.dll "$@"; }
# Prints a command as a user would type it, then runs it.
show() {
  local line="\$ dpiqa" arg
  for arg in "$@"; do [[ "$arg" == *" "* ]] && line="$line \"$arg\"" || line="$line $arg"; done
  echo "$line"
  dpiqa "$@"
}
deadline=$((SECONDS + 300))
until dpiqa schedule list > /dev/null 2>&1; do
  kill -0 "$SILO" 2> /dev/null || fail "the silo exited at start; see .cache/nightly-silo.log"
  [ "$SECONDS" -lt "$deadline" ] || fail "the silo did not answer within 300 s; see .cache/nightly-silo.log"
  sleep 1
done

# Waits until the schedule has $1 runs and the newest one ended (a cron of every minute: a run about every minute).
wait_for_runs() {
  local deadline=$((SECONDS + 600)) json
  while true; do
    json=$(dpiqa schedule show nightly --json)
    [ "$(jq '.runs | length' <<< "$json")" -ge "$1" ] && [ "$(jq -r '.runs[0].state' <<< "$json")" != running ] \
      && [ "$(jq -r '.runs[0].state' <<< "$json")" != pending ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || fail "run $1 did not end within 600 s; see .cache/nightly-silo.log"
    sleep 5
  done
}

# Two batches of the shipped photos, each over two top-level folders (a/ and b/): 7 first, the other 3 added before run 2.
STAGE=.cache/nightly-demo
rm -rf "$STAGE"
i=0
for photo in samples/photos/*.jpg samples/photos/*.png; do
  batch=$([ "$i" -lt 7 ] && echo 1 || echo 2)
  mkdir -p "$STAGE/batch$batch/$([ $((i % 2)) -eq 0 ] && echo a || echo b)"
  cp "$photo" "$STAGE/batch$batch/$([ $((i % 2)) -eq 0 ] && echo a || echo b)/"
  i=$((i + 1))
done

show upload "$STAGE/batch1" --to nightly-photos/set
show schedule create nightly --source nightly-photos/set --out nightly-runs --cron "* * * * *" \
  --reject-bottom-percent 25 --per-folder --tag --quarantine nightly-quarantine --shard-size 4
show schedule list
echo "# waiting for the first run (cron: every minute)"
wait_for_runs 1
show upload "$STAGE/batch2" --to nightly-photos/set
echo "# waiting for the second run"
wait_for_runs 2
show schedule show nightly
SECOND=$(dpiqa schedule show nightly --json | jq -r '.runs[0].job_id')
show job status "$SECOND"
show job summary "$SECOND"
show schedule delete nightly
show schedule list
