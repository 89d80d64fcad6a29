#!/usr/bin/env bash
# The README's "Local cluster" block: Azurite + two silo processes on loopback, the shipped photos uploaded,
# a job submitted, watched to the end, its results merged; everything started here is stopped on exit.
set -euo pipefail
mkdir -p .cache
dotnet build -c Release DpIqa.Cluster.sln -v q -nologo
[ -x .cache/azurite/node_modules/.bin/azurite ] || npm install --silent --no-audit --no-fund --prefix .cache/azurite azurite@3.37.0
.cache/azurite/node_modules/.bin/azurite --silent --inMemoryPersistence --skipApiVersionCheck --loose \
  --blobHost 127.0.0.1 --tableHost 127.0.0.1 --queueHost 127.0.0.1 &
PIDS=$!
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null' EXIT
export Storage__ConnectionString="UseDevelopmentStorage=true"
for i in 1 2; do
  Cluster__SiloPort=$((11110 + i)) Cluster__GatewayPort=$((30000 + i)) \
    dotnet Silo/bin/Release/net10.0/DpIqa.Silo.dll > ".cache/silo$i.log" 2>&1 &
  PIDS="$PIDS $!"
done
dpiqa() { dotnet Client/bin/Release/net10.0/dpiqa.dll "$@"; }
until dpiqa job list > /dev/null 2>&1; do sleep 1; done   # wait for the silos to join
dpiqa upload samples/photos --to photos/all
JOB=$(dpiqa job submit --source photos/all --out photos/results --shard-size 2 --reject-below 0.2)
dpiqa job watch "$JOB"
dpiqa job results "$JOB" --out .cache/local-cluster-results.csv
