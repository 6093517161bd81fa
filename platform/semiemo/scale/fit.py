"""How a cost grows: fixed overhead + per-row slope, the log-log exponent, where it bends, and a projection.

Pure arithmetic on measurements (numpy only), so it is tested without Ray. The model is the one a
pipeline of independent blocks should obey: wall(rows) = a + b * rows, with `a` the start-up (Ray
workers importing, the driver planning) and `b` the per-row cost; a log-log exponent near 1 means
linear, well below 1 means the fixed part still dominates at the sizes measured. A size "bends"
the curve when the slope measured up to it differs from the fitted slope by more than `tolerance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LinearFit:
    fixed_s: float           # a: seconds that do not depend on rows
    per_row_s: float         # b: seconds per extra row
    r2: float
    loglog_exponent: float   # d log(wall) / d log(rows) over the sizes measured
    segment_slopes: tuple[float, ...]  # s/row between consecutive sizes
    bends_at: tuple[int, ...]          # sizes after which the segment slope leaves b by > tolerance

    @property
    def marginal_rows_per_s(self) -> float:
        return 1.0 / self.per_row_s if self.per_row_s > 0 else float("inf")

    def predict(self, rows: float) -> float:
        return self.fixed_s + self.per_row_s * rows

    def as_dict(self) -> dict:
        return {**asdict(self), "marginal_rows_per_s": self.marginal_rows_per_s}


def fit_linear(rows: Sequence[float], wall_s: Sequence[float], tolerance: float = 0.25) -> LinearFit:
    """Least-squares wall = a + b * rows over >= 2 sizes (a clipped at 0: no negative start-up)."""
    x, y = np.asarray(rows, float), np.asarray(wall_s, float)
    if len(x) < 2 or len(np.unique(x)) < 2:
        raise ValueError(f"a fit needs at least two different row counts, got {list(map(int, x))}")
    b, a = np.polyfit(x, y, 1)
    if a < 0:  # the data say no fixed cost: refit through the origin
        a, b = 0.0, float(x @ y / (x @ x))
    pred = a + b * x
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(((y - pred) ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    expo = float(np.polyfit(np.log(x), np.log(np.maximum(y, 1e-9)), 1)[0])
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    slopes = tuple(float((ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])) for i in range(len(xs) - 1))
    bends = tuple(int(xs[i]) for i, s in enumerate(slopes) if b > 0 and abs(s - b) > tolerance * b)
    return LinearFit(float(a), float(b), r2, expo, slopes, bends)


def steady_rate(t_s: Sequence[float], rows_done: Sequence[float]) -> float | None:
    """Rows per second between the first sample with rows done and the first at the final count:
    the throughput once workers are up, without start-up or the tail of the last wave."""
    t, r = np.asarray(t_s, float), np.asarray(rows_done, float)
    if len(r) < 2 or r.max() <= 0:
        return None
    start = int(np.argmax(r > r.min()))
    end = int(np.argmax(r >= r.max()))
    if end <= start or t[end] <= t[start]:
        return None
    return float((r[end] - r[start]) / (t[end] - t[start]))


@dataclass(frozen=True)
class WorkerScaling:
    workers: tuple[int, ...]
    rows_per_s: tuple[float, ...]
    speedup: tuple[float, ...]      # rate(w) / rate(1)
    efficiency: tuple[float, ...]   # speedup / w


def worker_scaling(workers: Sequence[int], rows_per_s: Sequence[float]) -> WorkerScaling:
    """Speed-up and parallel efficiency against the smallest worker count measured (ideally 1)."""
    order = np.argsort(workers)
    w = np.asarray(workers, float)[order]
    r = np.asarray(rows_per_s, float)[order]
    base = r[0] / w[0]  # per-worker rate at the smallest count
    speedup = r / base
    return WorkerScaling(tuple(int(v) for v in w), tuple(map(float, r)), tuple(map(float, speedup)),
                         tuple(map(float, speedup / w)))


@dataclass(frozen=True)
class Projection:
    """A PROJECTION, not a measurement: measured per-worker cost carried to a size nobody ran here."""

    rows: int
    nodes: int
    cpus_per_node: int
    per_worker_rows_per_s: float   # marginal rate of one worker, measured
    efficiency: float              # parallel efficiency assumed (measured at the largest count here)
    fixed_s: float                 # start-up measured here
    featurize_s: float
    driver_mb: float | None        # driver RSS carried linearly to `rows` (None: not enough sizes)
    train_epoch_s: float | None    # one pass over the pool at the measured training samples/s

    def as_dict(self) -> dict:
        return asdict(self)


def project(rows: int, nodes: int, cpus_per_node: int, per_worker_rows_per_s: float, efficiency: float,
            fixed_s: float, driver_fit: LinearFit | None = None,
            train_samples_per_s: float | None = None) -> Projection:
    workers = nodes * cpus_per_node
    rate = per_worker_rows_per_s * workers * min(1.0, max(efficiency, 1e-6))
    return Projection(rows=rows, nodes=nodes, cpus_per_node=cpus_per_node, per_worker_rows_per_s=per_worker_rows_per_s,
                      efficiency=min(1.0, efficiency), fixed_s=fixed_s, featurize_s=fixed_s + rows / rate,
                      driver_mb=driver_fit.predict(rows) if driver_fit is not None else None,
                      train_epoch_s=rows / train_samples_per_s if train_samples_per_s else None)
