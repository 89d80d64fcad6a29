#!/usr/bin/env bash
# Chaos trials (docs/reliability.md; results in docs/benchmarks.md): per trial a fresh Azurite + 3 silo processes, 1,500 images, one fault
# injected mid-job (kill -9 of a silo / of the coordinator / of two silos, SIGTERM, Azurite paused or killed),
# then every image checked exactly once in `dpiqa job results`. Prints a table; exits 1 if any trial did not hold.
#   scripts/chaos.sh [--trials N] [--images N] [--corrupt N] [--faults kill-silo,term-silo,...] [--timeout S] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .cache/azurite/node_modules/.bin/azurite ] || npm install --silent --no-audit --no-fund --prefix .cache/azurite azurite@3.37.0
dotnet build -c Release Silo -v q -nologo
dotnet build -c Release bench/DpIqa.Bench -v q -nologo   # also builds Client (dpiqa.dll)
exec dotnet run -c Release --no-build --project bench/DpIqa.Bench -- chaos "$@"
