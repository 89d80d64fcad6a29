#!/bin/bash
# What a DCT-domain reduction can save, measured with libjpeg-turbo's own djpeg (Debian libjpeg-turbo-progs), outside
# dpiqa: one core, the camera JPEGs of the preprocess benchmark, each decoded in full and at 1/2, 1/4 and 1/8 scale
# (islow IDCT, output to /dev/null). At 1/8 only entropy (Huffman) decoding is left of the work a full decode does, so
# full/reduced is the most any reduced decode can gain before the resize.
# usage: bench/djpeg_floor.sh [FOLDER] [REPEATS]   (default: .cache/bench/camera-jpegs, made by `preprocess speed`)
set -euo pipefail
folder=${1:-.cache/bench/camera-jpegs}
repeats=${2:-3}
command -v djpeg >/dev/null || { echo "djpeg not found: apt-get install libjpeg-turbo-progs" >&2; exit 1; }
files=("$folder"/*.jpg)
[ -e "${files[0]}" ] || { echo "no JPEGs in $folder: run the preprocess benchmark once to make them" >&2; exit 1; }
echo "# djpeg $(djpeg -version 2>&1 | head -1 | sed 's/^libjpeg-turbo version //'), ${#files[@]} JPEGs in $folder, best of $repeats, one core"
best() { # best wall time in ms of decoding every file with djpeg "$@"
  local b=
  for _ in $(seq "$repeats"); do
    local t0 t1
    t0=$(date +%s%N)
    for f in "${files[@]}"; do taskset -c 0 djpeg -dct int "$@" "$f" > /dev/null; done
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$b" ] || [ "$ms" -lt "$b" ]; then b=$ms; fi
  done
  echo "$b"
}
full=$(best)
printf "%-8s %10s %12s %14s\n" scale "ms/image" "of full" "full/reduced"
printf "%-8s %10.1f %12s %14s\n" "1/1" "$(echo "$full / ${#files[@]}" | bc -l)" "100%" "1.00"
for s in 1/2 1/4 1/8; do
  t=$(best -scale "$s")
  printf "%-8s %10.1f %11.0f%% %14.2f\n" "$s" "$(echo "$t / ${#files[@]}" | bc -l)" "$(echo "100 * $t / $full" | bc -l)" "$(echo "$full / $t" | bc -l)"
done
