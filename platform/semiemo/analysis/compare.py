"""Compare learning methods on identical folds and labeled subsets: a results table, a Markdown
summary (mean ± 95 % CI over seeds × folds per metric, and each method's paired difference to the
supervised baseline) and a bar chart.

Identical data by construction: every method's `ExperimentConfig` differs from the base only in
`method`/`method_params`/`name`, and `run_experiment` derives folds, the labeled subsample and the
unlabeled subsample from (corpus, protocol, label_fraction, seed) alone. The FeatureSet is loaded once
and handed to every run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from semiemo.features.featureset import FeatureSet
from semiemo.train.config import ExperimentConfig
from semiemo.train.metrics import mean_ci95

METRICS: tuple[str, ...] = ("ua", "wa", "f1_weighted", "f1_macro")
BASELINE = "supervised"
ALL_METHODS: tuple[str, ...] = ("supervised", "pseudo_label", "pi_model", "temporal_ensembling", "mean_teacher",
                                "mixmatch", "fixmatch", "sae")


def method_configs(base: ExperimentConfig, methods: Sequence[str],
                   method_params: dict[str, dict] | None = None) -> list[ExperimentConfig]:
    """One config per method: the base with only the method (and its params and name) changed."""
    from semiemo.methods.registry import get_method

    method_params = method_params or {}
    unknown = sorted(set(method_params) - set(methods))
    if unknown:
        raise ValueError(f"method_params given for {unknown}, which are not among the compared methods {list(methods)}")
    configs = []
    for name in methods:
        get_method(name)  # an unknown name fails here, listing the available ones
        configs.append(base.model_copy(update={
            "method": name, "method_params": dict(method_params.get(name, {})), "name": f"{base.name}-{name}",
            "output_dir": str(Path(base.output_dir) / name) if base.output_dir else None,
        }, deep=True))
    return configs


def run_comparison(base: ExperimentConfig, methods: Sequence[str], method_params: dict[str, dict] | None = None,
                   data: FeatureSet | None = None,
                   on_method_done: Callable[[str, pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """Every method through `run_experiment` on the same data; the concatenated results rows."""
    from semiemo.train.experiment import run_experiment

    configs = method_configs(base, methods, method_params)
    if data is None:
        from semiemo.features import load_featureset

        data = load_featureset(base.corpus, base.features, base.feature_store)
    if base.unlabeled:
        from semiemo.train.experiment import with_unlabeled_pool

        data = with_unlabeled_pool(base, data)  # once, for every method
    frames = []
    for cfg in configs:
        rows = run_experiment(cfg, data)
        frames.append(rows)
        if on_method_done is not None:
            on_method_done(cfg.method, rows)
    return pd.concat(frames, ignore_index=True)


def summarize(results: pd.DataFrame, metrics: Sequence[str] = METRICS, baseline: str = BASELINE) -> pd.DataFrame:
    """Per method: runs, and for each test metric its mean and 95 % CI half-width over (seed, fold);
    `delta_<m>` is the paired difference to `baseline` on the same (seed, fold); pseudo-label accuracy
    (against the hidden oracle; NaN where there is none) likewise as mean and CI."""
    missing = [f"test_{m}" for m in metrics if f"test_{m}" not in results.columns]
    if missing:
        raise ValueError(f"results lack columns {missing}; they have {sorted(results.columns)}")
    key = ["seed", "fold"]
    base_rows = results[results["method"] == baseline].set_index(key) if baseline in set(results["method"]) else None
    out = []
    for method, rows in results.groupby("method", sort=False):
        rec: dict[str, object] = {"method": method, "runs": len(rows)}
        for m in metrics:
            rec[m], rec[f"{m}_ci"] = mean_ci95(rows[f"test_{m}"])
            if base_rows is not None:
                paired = rows.set_index(key)[f"test_{m}"] - base_rows[f"test_{m}"]
                paired = paired.dropna()
                rec[f"delta_{m}"], rec[f"delta_{m}_ci"] = mean_ci95(paired) if len(paired) else (np.nan, np.nan)
        plabel = rows["pseudo_label_accuracy"].dropna() if "pseudo_label_accuracy" in rows else pd.Series(dtype=float)
        rec["pseudo_label_accuracy"], rec["pseudo_label_accuracy_ci"] = mean_ci95(plabel) if len(plabel) else (np.nan, np.nan)
        out.append(rec)
    return pd.DataFrame(out)


def _pm(mean: float, ci: float, signed: bool = False) -> str:
    if mean != mean:
        return "–"
    value = f"{mean:+.3f}" if signed else f"{mean:.3f}"
    return value if ci != ci else f"{value} ± {ci:.3f}"


def markdown_table(summary: pd.DataFrame, metrics: Sequence[str] = METRICS, baseline: str = BASELINE) -> str:
    """Mean ± 95 % CI per metric, ΔUA vs the baseline (paired), pseudo-label accuracy."""
    has_delta = "delta_ua" in summary.columns
    header = ["method", "runs", *[m.upper() if len(m) <= 3 else m for m in metrics]]
    header += ([f"Δ UA vs {baseline}"] if has_delta else []) + ["pseudo-label acc."]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r["method"]), str(int(r["runs"]))] + [_pm(r[m], r[f"{m}_ci"]) for m in metrics]
        if has_delta:
            cells.append("–" if r["method"] == baseline else _pm(r["delta_ua"], r["delta_ua_ci"], signed=True))
        cells.append(_pm(r["pseudo_label_accuracy"], r["pseudo_label_accuracy_ci"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(summary: pd.DataFrame, path: str | Path, metrics: Sequence[str] = ("ua", "f1_weighted"),
              title: str = "") -> Path:
    """Grouped bars (one group per method, one bar per metric) with 95 % CI error bars, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.arange(len(summary))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(summary) + 2), 4.2))
    for i, m in enumerate(metrics):
        err = np.nan_to_num(summary[f"{m}_ci"].to_numpy(dtype=float), nan=0.0)
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, summary[m].to_numpy(dtype=float), width, yerr=err,
               capsize=3, label=m.upper() if len(m) <= 3 else m)
    if BASELINE in set(summary["method"]):
        ax.axhline(float(summary.loc[summary["method"] == BASELINE, metrics[0]].iloc[0]), color="grey",
                   linestyle="--", linewidth=1, label=f"{BASELINE} {metrics[0].upper()}")
    ax.set_xticks(x, summary["method"], rotation=30, ha="right")
    ax.set_ylabel("test score (mean ± 95 % CI)")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9, wrap=True)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(results: pd.DataFrame, out_dir: str | Path, title: str = "Method comparison",
                 setup: str = "") -> dict[str, Path]:
    """results.csv, summary.csv, comparison.md and comparison.png under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(results)
    results.drop(columns=["config_json"], errors="ignore").to_csv(out / "results.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    png = bar_chart(summary, out / "comparison.png", title=title)
    md = out / "comparison.md"
    md.write_text(f"# {title}\n\n{setup}\n\n{markdown_table(summary)}\n\n"
                  "Mean ± 95 % CI (Student t) over seeds × folds of test scores. Δ UA: paired difference to "
                  "the supervised run on the same seed and fold. Pseudo-label accuracy: the final model's labels "
                  "for the unlabeled pool against the hidden oracle (synthetic corpora only).\n\n"
                  f"![comparison]({png.name})\n")
    return {"results": out / "results.csv", "summary": out / "summary.csv", "markdown": md, "chart": png}
