#!/usr/bin/env bash
# docs/cluster.md, "Local cluster": Azurite + two silo processes on loopback under a cluster id of their own, the
# shipped photos uploaded, a job submitted, watched to the end, its results merged; everything started here is
# stopped on exit. It refuses to start when one of its ports is taken: a second Azurite that cannot bind, or a silo
# on another cluster's address, would otherwise mix two clusters. Another set of ports runs a second one beside:
#   BLOB_PORT=10100 QUEUE_PORT=10101 TABLE_PORT=10102 SILO_PORTS="11211 11212" GATEWAY_PORTS="30101 30102" scripts/local-cluster.sh
set -euo pipefail
BLOB_PORT=${BLOB_PORT:-10000}
QUEUE_PORT=${QUEUE_PORT:-10001}
TABLE_PORT=${TABLE_PORT:-10002}
read -r -a SILO_PORTS <<< "${SILO_PORTS:-11111 11112}"
read -r -a GATEWAY_PORTS <<< "${GATEWAY_PORTS:-30001 30002}"

fail() { echo "local-cluster: $*" >&2; exit 1; }
source "$(dirname "$0")/lib.sh"
check_ports() { check_ports_of "pick free ports with BLOB_PORT QUEUE_PORT TABLE_PORT SILO_PORTS GATEWAY_PORTS" "$BLOB_PORT" "$QUEUE_PORT" "$TABLE_PORT" "${SILO_PORTS[@]}" "${GATEWAY_PORTS[@]}"; }

check_ports # before the build, to fail fast
mkdir -p .cache
dotnet build -c Release DpIqa.Cluster.sln -v q -nologo
[ -x .cache/azurite/node_modules/.bin/azurite ] || npm install --silent --no-audit --no-fund --prefix .cache/azurite azurite@3.37.0
check_ports # again: the build takes minutes

AZURITE=""
SILOS=""
# Silos first: leaving the cluster writes to the membership table, so a silo stopped after Azurite keeps retrying
# its shutdown for minutes. A silo that has not left after 30 s is killed; Azurite goes last.
stop_all() {
  kill $SILOS 2> /dev/null || true
  for _ in $(seq 30); do
    alive=""
    for pid in $SILOS; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 1
  done
  kill -9 $SILOS 2> /dev/null || true
  kill $AZURITE 2> /dev/null || true
  wait 2> /dev/null || true
}
trap stop_all EXIT
.cache/azurite/node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --blobPort "$BLOB_PORT" --queueHost 127.0.0.1 --queuePort "$QUEUE_PORT" \
  --tableHost 127.0.0.1 --tablePort "$TABLE_PORT" &
AZURITE=$!
for port in "$BLOB_PORT" "$TABLE_PORT"; do
  until listening "$port"; do
    kill -0 "$AZURITE" 2> /dev/null || fail "Azurite exited at start (could it bind 127.0.0.1:$port?)"
    sleep 0.2
  done
done
kill -0 "$AZURITE" 2> /dev/null || fail "Azurite exited at start: another process holds its ports"

# Azurite's well-known development account, on this run's ports.
export Storage__ConnectionString="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/devstoreaccount1;TableEndpoint=http://127.0.0.1:$TABLE_PORT/devstoreaccount1;"
# A cluster id of this run's own (silos and the client below use it): silos that share storage and a cluster id
# form one cluster, so this cluster never merges with another one by accident.
export Cluster__ClusterId="dpiqa-local-${USER:-$(id -un)}-$$"
# Mutual TLS between the silos and with dpiqa, a token for dpiqa, jobs confined to the container 'photos'.
cluster_pki .cache/local-cluster-pki photos
for i in 0 1; do
  env "${SILO_SECURITY[@]}" Cluster__SiloPort=${SILO_PORTS[$i]} Cluster__GatewayPort=${GATEWAY_PORTS[$i]} Http__Port=0 \
    dotnet Silo/bin/Release/net10.0/DpIqa.Silo.dll > ".cache/silo$((i + 1)).log" 2>&1 &
  SILOS="$SILOS $!"
done
dpiqa() { dotnet Client/bin/Release/net10.0/dpiqa.dll "$@"; }
deadline=$((SECONDS + 300))
until dpiqa job list > /dev/null 2>&1; do # wait for the silos to join
  for pid in $SILOS; do kill -0 "$pid" 2> /dev/null || fail "a silo exited at start; see .cache/silo1.log and .cache/silo2.log"; done
  [ "$SECONDS" -lt "$deadline" ] || fail "no silo answered within 300 s; see .cache/silo1.log and .cache/silo2.log"
  sleep 1
done
echo "cluster id $Cluster__ClusterId; silo logs in .cache/silo1.log and .cache/silo2.log:"
grep -h "starting: cluster id" .cache/silo1.log .cache/silo2.log | sed 's/^ */  /'
dpiqa upload samples/photos --to photos/all
JOB=$(dpiqa job submit --source photos/all --out photos/results --shard-size 2 --reject-above 40) # brisque, the default: lower is better
dpiqa job watch "$JOB"
dpiqa job results "$JOB" --out .cache/local-cluster-results.csv
