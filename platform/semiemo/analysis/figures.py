"""A sweep's curve: the metric against the swept parameter, mean with a band over seeds (PNG).

Folds are averaged within a seed first, so the band is the spread over seeds as in the papers' repeated
runs: a 95 % CI (Student t) with ≥ 3 seeds, else the range (min–max), or with one seed the range over
its folds (`analysis.spread`); the axis label says which and gives n. A sweep where each x has one
trial (Optuna/TPE) draws points only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from semiemo.tune.space import WHOLE_POOL, SearchSpace

SERIES_ALL = "all"


def _sort_key(v: Any) -> tuple[int, float, str]:
    """Numbers in order, then "all" (the whole pool), then other strings in given order."""
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1 if str(v) == WHOLE_POOL else 2, 0.0, "")


def sweep_curve(table: pd.DataFrame, spec: SearchSpace, metric: str | None = None) -> pd.DataFrame:
    """Columns: series, x, mean, low, high, kind ("ci95" | "range" | "single"), unit ("seed" | "fold"),
    ci95 (the CI's half-width, NaN unless kind is "ci95"), n (seeds; folds for a one-seed range), in the
    parameter's order (grid order for categories)."""
    from semiemo.analysis.spread import over_seeds

    metric = metric or spec.plot_metric
    x, series = spec.x_param, spec.plot.series
    done = table[table.get("status", "TERMINATED") == "TERMINATED"] if "status" in table else table
    if done.empty or metric not in done.columns:
        return pd.DataFrame(columns=["series", "x", "mean", "low", "high", "kind", "unit", "ci95", "n"])
    done = done.assign(_series=done[series].astype(str) if series else SERIES_ALL,
                       _x=done[x].map(lambda v: WHOLE_POOL if v is None or (isinstance(v, float) and np.isnan(v)) else v),
                       _rep=done["seed"] if "seed" in done.columns else done["trial_id"])
    done = done.assign(_xkey=done["_x"].astype(str))
    rows = []
    for (s, xk), g in done.groupby(["_series", "_xkey"], sort=False):
        spread = over_seeds(g[metric].to_numpy(dtype=float), g["_rep"].to_numpy())
        rows.append({"series": s, "x": g["_x"].iloc[0], "mean": spread.mean, "low": spread.low,
                     "high": spread.high, "kind": spread.kind, "unit": spread.unit, "ci95": spread.half_width,
                     "n": spread.n})
    curve = pd.DataFrame(rows)
    order = _grid_order(spec, x)
    curve["_o"] = curve["x"].map(lambda v: order.get(str(v), (9, *_sort_key(v)[1:])) if order else _sort_key(v))
    curve = curve.sort_values(["series", "_o"]).drop(columns="_o").reset_index(drop=True)
    return curve


def curve_caption(curve: pd.DataFrame, short_form: bool = False) -> str:
    """What a curve's spread is, with its n: one phrase when every point is alike."""
    from semiemo.analysis.spread import Spread, caption, short_caption

    spreads = [Spread(r["mean"], r["low"], r["high"], int(r["n"]), r["unit"], r["kind"]) for _, r in curve.iterrows()]
    return (short_caption if short_form else caption)(spreads)


def _grid_order(spec: SearchSpace, x: str) -> dict[str, tuple]:
    p = spec.parameters[x]
    if p.scale == "category" and p.values_for_record():
        return {str(v): (i, 0.0, "") for i, v in enumerate(p.values_for_record())}
    return {}


def _positions(xs: list[Any], scale: str) -> tuple[np.ndarray, list[str], bool]:
    """Numeric x positions; 'all' and other strings go after the numbers. (positions, tick labels, categorical)."""
    numeric = [float(v) for v in xs if _sort_key(v)[0] == 0]
    if scale == "category" or not numeric:
        return np.arange(len(xs), dtype=float), [str(v) for v in xs], True
    top = max(numeric) if numeric else 1.0
    pos = []
    for v in xs:
        if _sort_key(v)[0] == 0:
            pos.append(float(v))
        else:  # "all": one step beyond the largest number
            pos.append(top * (2.0 if scale in ("log", "symlog") else 1.25) if top > 0 else 1.0)
    labels = [str(v) for v in xs]
    return np.asarray(pos), labels, False


def plot_sweep(table: pd.DataFrame, spec: SearchSpace, path: str | Path, *, title: str | None = None,
               metric: str | None = None) -> Path:
    """Write the figure; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = metric or spec.plot_metric
    curve = sweep_curve(table, spec, metric)
    p = spec.parameters[spec.x_param]
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    categorical = False
    for s, g in curve.groupby("series", sort=False):
        pos, labels, categorical = _positions(list(g["x"]), p.scale)
        label = None if s == SERIES_ALL else str(s)
        mean = g["mean"].to_numpy(dtype=float)
        many = (g["n"] > 1).any()
        order = np.argsort(pos, kind="stable")
        if many:
            ax.plot(pos[order], mean[order], marker="o", label=label)
            low, high = g["low"].to_numpy(dtype=float)[order], g["high"].to_numpy(dtype=float)[order]
            ax.fill_between(pos[order], np.where(np.isnan(low), mean[order], low),
                            np.where(np.isnan(high), mean[order], high), alpha=0.2)
        else:
            ax.scatter(pos, mean, label=label)
        if categorical or any(str(v) == WHOLE_POOL for v in g["x"]):
            ax.set_xticks(pos, labels)
    if not categorical:
        if p.scale == "log":
            ax.set_xscale("log")
        elif p.scale == "symlog":
            nonzero = [abs(float(v)) for v in curve["x"] if _sort_key(v)[0] == 0 and float(v) != 0]
            ax.set_xscale("symlog", linthresh=min(nonzero) if nonzero else 1.0)
    ax.set_xlabel(p.label or spec.x_param)
    ax.set_ylabel(f"{metric} (mean; band: {curve_caption(curve, short_form=True)})", fontsize=8)
    ax.set_title(title or (f"{spec.name} — paper {spec.paper}" if spec.paper else spec.name), fontsize=10)
    ax.grid(alpha=0.3)
    if spec.plot.series:
        ax.legend(title=spec.plot.series)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
