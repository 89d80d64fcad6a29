"""SciPy's figures for one fixture (image_name,score,MOS): what IqaMetrics and LogisticFit must reproduce.
Prints JSON; a figure SciPy cannot compute is null, with the reason in 'errors'."""
import json
import sys
import warnings

import numpy as np
from scipy import optimize, stats

warnings.simplefilter("ignore")  # constant inputs warn; the NaN they give is reported as null below


def logistic(x, b1, b2, b3, b4):
    return b2 + (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4)))


rows = np.genfromtxt(sys.argv[1], delimiter=",", names=True, dtype=None, encoding="utf-8")
x = np.atleast_1d(rows["score"]).astype(np.float32).astype(np.float64)  # the model writes float32 scores
y = np.atleast_1d(rows["MOS"]).astype(np.float64)
out = {"n": int(x.size), "errors": []}


def figure(name, f):
    try:
        v = float(f())
        out[name] = v if np.isfinite(v) else None
    except Exception as e:  # e.g. curve_fit with fewer points than parameters
        out[name] = None
        out["errors"].append(f"{name}: {e}")


figure("srcc", lambda: stats.spearmanr(x, y)[0])
figure("krcc", lambda: stats.kendalltau(x, y)[0])  # tau-b is SciPy's default variant
figure("plcc", lambda: stats.pearsonr(x, y)[0])
try:
    p0 = [y.max(), y.min(), x.mean(), x.std() if x.std() > 0 else 1.0]
    beta, _ = optimize.curve_fit(logistic, x, y, p0=p0, maxfev=100000)
    fitted = logistic(x, *beta)
    out["beta"] = [float(b) for b in beta]
    figure("plcc_logistic", lambda: stats.pearsonr(fitted, y)[0])
    figure("rmse_logistic", lambda: np.sqrt(np.mean((fitted - y) ** 2)))
except Exception as e:
    out["beta"] = out["plcc_logistic"] = out["rmse_logistic"] = None
    out["errors"].append(f"logistic: {e}")
print(json.dumps(out))
