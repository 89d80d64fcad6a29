#!/usr/bin/env bash
# Opens a report.html in headless Chromium (Debian's `chromium`) and writes a PNG screenshot of its top.
#   scripts/report-screenshot.sh REPORT.html OUT.png [WIDTH [HEIGHT]]      (default 1150 x 1700 pixels)
# The report is self-contained, so Chromium needs no network; --no-sandbox because CI runs it as root.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 REPORT.html OUT.png [WIDTH [HEIGHT]]" >&2; exit 2; fi
report=$(realpath "$1")
out=$(realpath -m "$2")
width=${3:-1150}
height=${4:-1700}
[ -f "$report" ] || { echo "error: $report does not exist: write one with 'dpiqa score ... --report' or 'dpiqa job report ID --out DIR'" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "error: Chromium is not installed: apt-get install chromium" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="$width,$height" --screenshot="$out" "file://$report" > "$profile/chromium.log" 2>&1 \
  || { echo "error: chromium failed:" >&2; tail -5 "$profile/chromium.log" >&2; exit 1; }
[ -s "$out" ] || { echo "error: chromium wrote no screenshot:" >&2; tail -5 "$profile/chromium.log" >&2; exit 1; }
echo "screenshot: $out"
