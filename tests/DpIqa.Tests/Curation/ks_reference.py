"""Reference for DriftTests: scipy's two-sample Kolmogorov-Smirnov statistic and the asymptotic p-value.

Reads JSON [[a, b], ...] from the file named by argv[1]; prints JSON [[D, p], ...] where D is
scipy.stats.ks_2samp(a, b).statistic and p = scipy.stats.kstwobign.sf(sqrt(n*m/(n+m)) * D).
"""
import json
import math
import sys

from scipy import stats

cases = json.load(open(sys.argv[1]))
out = []
for a, b in cases:
    d = float(stats.ks_2samp(a, b).statistic)
    en = len(a) * len(b) / (len(a) + len(b))
    out.append([d, float(stats.kstwobign.sf(math.sqrt(en) * d))])
print(json.dumps(out))
