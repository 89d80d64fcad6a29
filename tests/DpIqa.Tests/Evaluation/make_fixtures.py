"""Writes the committed evaluation fixtures (seeded, so rerunning gives the same files).
Columns: image_name (KonIQ-10k's name column), score (a model's output), MOS."""
import numpy as np

rng = np.random.default_rng(20261126)

def write(name, scores, mos):
    with open(f"fixtures/{name}.csv", "w") as f:
        f.write("image_name,score,MOS\n")
        for i, (s, m) in enumerate(zip(scores, mos)):
            f.write(f"img{i:05d}.jpg,{s!r},{m!r}\n")

def logistic(x, b1, b2, b3, b4):
    return b2 + (b1 - b2) / (1 + np.exp(-(x - b3) / abs(b4)))

# scores on [0, 1] (float32 as the model writes them), MOS on 1..100 through a non-linear map plus noise
x = rng.uniform(0.1, 0.9, 10000).astype(np.float32)
y = logistic(x.astype(np.float64), 85, 10, 0.5, 0.12) + rng.normal(0, 6, x.size)
write("pairs-10000", [float(v) for v in x], [round(float(v), 4) for v in y])

# ties on both sides: scores rounded to 0.1, MOS to whole steps of a 1..5 scale
x = np.round(rng.uniform(0, 1, 60), 1)
y = np.clip(np.round(1 + 4 * x + rng.normal(0, 0.8, x.size)), 1, 5)
write("ties", [float(v) for v in x], [float(v) for v in y])

# a MOS-scale model (scores on 1..100) against labels on 1..5, with a negative outlier
x = rng.uniform(1, 100, 40)
y = 1 + 4 / (1 + np.exp(-(x - 50) / 15)) + rng.normal(0, 0.3, x.size)
x[0] = -20.0
write("mos-scale", [round(float(v), 3) for v in x], [round(float(v), 3) for v in y])

write("n2", [0.25, 0.75], [30.0, 70.0])
write("constant-scores", [0.5] * 6, [10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
write("constant-labels", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [50.0] * 6)
