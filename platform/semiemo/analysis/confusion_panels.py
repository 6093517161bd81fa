"""Confusion-matrix panels (paper 003 Fig. 3): per swept value (e.g. method arm), the test confusion
matrices summed over seeds and folds, row-normalised (each true class sums to 1).

One PNG per panel (`confusion_<value>.png`) and one figure with all panels side by side. The report
lists, per panel, the share of test predictions that land on the most predicted class — the
"concentrates on one class" reading of the paper's SSL panels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from semiemo.tune.space import SearchSpace


def class_names(table: pd.DataFrame) -> list[str]:
    """Class names in output order, read from the `test_f1_<class>` columns."""
    skip = {"test_f1_weighted", "test_f1_macro"}
    return [c[len("test_f1_"):] for c in table.columns if c.startswith("test_f1_") and c not in skip]


def pooled_confusions(table: pd.DataFrame, x: str) -> dict[str, np.ndarray]:
    """x value -> summed confusion matrix over its finished rows (seeds, folds), in grid order of appearance."""
    done = table[table.get("status", "TERMINATED") == "TERMINATED"] if "status" in table else table
    out: dict[str, np.ndarray] = {}
    for _, row in done.iterrows():
        raw = row.get("test_confusion")
        if not isinstance(raw, str):
            continue
        cm = np.asarray(json.loads(raw), dtype=float)
        key = str(row[x])
        out[key] = out[key] + cm if key in out else cm
    return out


def panel_file(key: str) -> str:
    return f"confusion_{re.sub(r'[^A-Za-z0-9_.=-]', '_', key)}.png"


def row_normalise(cm: np.ndarray) -> np.ndarray:
    return cm / np.clip(cm.sum(axis=1, keepdims=True), 1.0, None)


def top_class_share(cm: np.ndarray) -> float:
    """Share of all predictions that go to the most predicted class."""
    return float(cm.sum(axis=0).max() / max(cm.sum(), 1.0))


def plot_confusion_panels(table: pd.DataFrame, spec: SearchSpace, path: str | Path) -> tuple[Path, dict[str, float]]:
    """Write the panels; returns the combined figure's path and each panel's top-class share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = spec.x_param
    grid = [str(v) for v in (spec.parameters[x].values_for_record() or [])]
    mats = pooled_confusions(table, x)
    order = [k for k in grid if k in mats] + [k for k in mats if k not in grid]
    names = class_names(table) or [str(i) for i in range(next(iter(mats.values())).shape[0])] if mats else []
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shares = {k: top_class_share(mats[k]) for k in order}

    def draw(ax, key: str) -> None:
        m = row_normalise(mats[key])
        ax.imshow(m, vmin=0.0, vmax=1.0, cmap="Blues")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > 0.6 else "black")
        ax.set_xticks(range(len(names)), names, rotation=45, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)

    for key in order:
        fig, ax = plt.subplots(figsize=(3.4, 3.2), dpi=120)
        draw(ax, key)
        fig.tight_layout()
        fig.savefig(path.parent / panel_file(key))
        plt.close(fig)
    n = max(len(order), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), dpi=120, squeeze=False)
    for ax, key in zip(axes[0], order):
        draw(ax, key)
    fig.suptitle(f"{spec.name} — row-normalised test confusion, pooled over seeds", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path, shares
