"""NumPy's statistics of scores, the reference the statistics tests compare ScoreAggregate and summary.json with.

Run with /usr/bin/python3 (Debian's python3-numpy):
    numpy_reference.py SCORES.f32     little-endian float32 scores        -> {"all": STATS}
    numpy_reference.py RESULTS.csv    a dpiqa results file (path,score,...) -> {"all": STATS, "by_folder": {FOLDER: STATS}}
STATS = {"scored", "mean", "std", "min", "max", "percentiles": {"p1": .., "p99": ..}} as NumPy's defaults give them
(np.percentile with linear interpolation, population std). Scores are float32 model outputs, read as float32 then
widened to float64, so both sides count the same numbers.
"""
import csv
import json
import sys

import numpy as np

RANKS = [1, 5, 25, 50, 75, 95, 99]


def stats(scores):
    a = np.asarray(scores, dtype=np.float32).astype(np.float64)
    return {
        "scored": int(a.size),
        "mean": float(np.mean(a)),
        "std": float(np.std(a)),
        "min": float(np.min(a)),
        "max": float(np.max(a)),
        "percentiles": {f"p{p}": float(np.percentile(a, p)) for p in RANKS},
    }


def top_folder(path):
    return path.split("/", 1)[0] if "/" in path else "."


def main(path):
    if path.endswith(".csv"):
        everything, folders = [], {}
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["score"] == "":
                    continue  # an error record
                score = np.float32(row["score"])
                everything.append(score)
                folders.setdefault(top_folder(row["path"]), []).append(score)
        out = {"all": stats(everything), "by_folder": {k: stats(v) for k, v in folders.items()}}
    else:
        out = {"all": stats(np.fromfile(path, dtype="<f4"))}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
