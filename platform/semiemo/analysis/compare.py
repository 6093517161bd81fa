"""Compare learning methods on identical folds and labeled subsets: a results table, a Markdown
summary (per metric the mean over seeds with a 95 % CI over the seeds' fold means, or a range when
there are fewer than 3 seeds — see `analysis.spread` — and each method's paired difference to the
supervised baseline, likewise over seeds) and a bar chart.

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

from semiemo.analysis.spread import Spread, caption, over_seeds, paired_over_seeds, short_caption
from semiemo.features.featureset import FeatureSet
from semiemo.train.config import ExperimentConfig

METRICS: tuple[str, ...] = ("ua", "wa", "f1_weighted", "f1_macro")
BASELINE = "supervised"
MASK_RATE = "mask_rate_mean"  # results column: mean over training steps of the share of unlabeled rows past τ
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


def _columns(prefix: str, spread: Spread) -> dict[str, object]:
    return {prefix: spread.mean, f"{prefix}_ci": spread.half_width, f"{prefix}_low": spread.low,
            f"{prefix}_high": spread.high, f"{prefix}_n": spread.n, f"{prefix}_unit": spread.unit,
            f"{prefix}_kind": spread.kind}


def spread_of(row: pd.Series, prefix: str) -> Spread:
    """The `Spread` stored in a summary row's `<prefix>*` columns."""
    return Spread(float(row[prefix]), float(row[f"{prefix}_low"]), float(row[f"{prefix}_high"]),
                  int(row[f"{prefix}_n"]), str(row[f"{prefix}_unit"]), str(row[f"{prefix}_kind"]))


def summarize(results: pd.DataFrame, metrics: Sequence[str] = METRICS, baseline: str = BASELINE) -> pd.DataFrame:
    """Per method: runs, seeds, folds per seed, and for each test metric its mean over seeds with a 95 % CI
    over the seeds' fold means (`<m>_ci` its half-width; NaN with fewer than 3 seeds, where `<m>_low`/
    `<m>_high` are the range instead — `<m>_kind` says which, `<m>_n` gives n). `delta_<m>`: the paired
    difference to `baseline` on the same (seed, fold), spread over seeds the same way; pseudo-label accuracy
    (against the hidden oracle; NaN where there is none) likewise."""
    missing = [f"test_{m}" for m in metrics if f"test_{m}" not in results.columns]
    if missing:
        raise ValueError(f"results lack columns {missing}; they have {sorted(results.columns)}")
    key = ["seed", "fold"]
    base_rows = results[results["method"] == baseline].set_index(key) if baseline in set(results["method"]) else None
    out = []
    for method, rows in results.groupby("method", sort=False):
        rec: dict[str, object] = {"method": method, "runs": len(rows), "seeds": rows["seed"].nunique(),
                                  "folds": int(rows.groupby("seed")["fold"].nunique().max())}
        indexed = rows.set_index(key)
        for m in metrics:
            rec.update(_columns(m, over_seeds(rows[f"test_{m}"], rows["seed"])))
            if base_rows is not None:
                rec.update(_columns(f"delta_{m}", paired_over_seeds(indexed[f"test_{m}"], base_rows[f"test_{m}"])))
        plabel = rows["pseudo_label_accuracy"] if "pseudo_label_accuracy" in rows else pd.Series(np.nan, index=rows.index)
        rec.update(_columns("pseudo_label_accuracy", over_seeds(plabel, rows["seed"])))
        if MASK_RATE in results.columns:  # share of unlabeled rows that passed the threshold τ (methods with a mask)
            rec.update(_columns(MASK_RATE, over_seeds(pd.to_numeric(rows[MASK_RATE], errors="coerce"), rows["seed"])))
        out.append(rec)
    return pd.DataFrame(out)


def delta_sentences(summary: pd.DataFrame, baseline: str = BASELINE) -> list[str]:
    """Per method, what its paired Δ UA to the baseline says — worded by the CI, whatever the sign: *beats*
    (95 % CI above 0), *falls below* (CI below 0), *no detectable difference* (CI spans 0), or *no CI*
    (fewer than 3 seeds: the range is shown, nothing is claimed)."""
    if "delta_ua" not in summary.columns:
        return []
    out = []
    for _, r in summary.iterrows():
        if r["method"] == baseline:
            continue
        d = spread_of(r, "delta_ua")
        if d.kind != "ci95":
            out.append(f"{r['method']}: Δ UA {d.cell(signed=True)} over {d.n} seed(s) — no CI, so no claim either way.")
        elif d.low > 0:
            out.append(f"{r['method']}: beats {baseline}, Δ UA {d.cell(signed=True)} (95 % CI above 0, n={d.n} seeds).")
        elif d.high < 0:
            out.append(f"{r['method']}: falls below {baseline}, Δ UA {d.cell(signed=True)} (95 % CI below 0, n={d.n} seeds).")
        else:
            out.append(f"{r['method']}: no detectable difference from {baseline}, Δ UA {d.cell(signed=True)} "
                       f"(95 % CI spans 0, n={d.n} seeds).")
    return out


def table_caption(summary: pd.DataFrame, metrics: Sequence[str] = METRICS) -> str:
    """What every cell of `markdown_table` is, with its n (one sentence when all rows are alike)."""
    return caption([spread_of(r, m) for _, r in summary.iterrows() for m in metrics])


def markdown_table(summary: pd.DataFrame, metrics: Sequence[str] = METRICS, baseline: str = BASELINE) -> str:
    """Caption line (the statistic and its n), then per method: seeds × folds, each metric, ΔUA vs the
    baseline (paired), pseudo-label accuracy."""
    has_delta = "delta_ua" in summary.columns
    has_mask = MASK_RATE in summary.columns
    header = ["method", "seeds × folds", *[m.upper() if len(m) <= 3 else m for m in metrics]]
    header += ([f"Δ UA vs {baseline}"] if has_delta else []) + ["pseudo-label acc."] + (["mask rate"] if has_mask else [])
    lines = [f"Cells: {table_caption(summary, metrics)}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r["method"]), f"{int(r['seeds'])} × {int(r['folds'])}"] + [spread_of(r, m).cell() for m in metrics]
        if has_delta:
            cells.append("–" if r["method"] == baseline else spread_of(r, "delta_ua").cell(signed=True))
        cells.append(spread_of(r, "pseudo_label_accuracy").cell())
        if has_mask:
            cells.append(spread_of(r, MASK_RATE).cell())
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(summary: pd.DataFrame, path: str | Path, metrics: Sequence[str] = ("ua", "f1_weighted"),
              title: str = "") -> Path:
    """Grouped bars (one group per method, one bar per metric); error bars: the 95 % CI over seeds, or
    the range where there are too few seeds for one (the axis label says which), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.arange(len(summary))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(summary) + 2), 4.2))
    for i, m in enumerate(metrics):
        mean = summary[m].to_numpy(dtype=float)
        err = np.nan_to_num(np.vstack([mean - summary[f"{m}_low"].to_numpy(dtype=float),
                                       summary[f"{m}_high"].to_numpy(dtype=float) - mean]), nan=0.0)
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, summary[m].to_numpy(dtype=float), width, yerr=err,
               capsize=3, label=m.upper() if len(m) <= 3 else m)
    if BASELINE in set(summary["method"]):
        ax.axhline(float(summary.loc[summary["method"] == BASELINE, metrics[0]].iloc[0]), color="grey",
                   linestyle="--", linewidth=1, label=f"{BASELINE} {metrics[0].upper()}")
    ax.set_xticks(x, summary["method"], rotation=30, ha="right")
    bars = short_caption([spread_of(r, m) for _, r in summary.iterrows() for m in metrics])
    ax.set_ylabel(f"test score (mean; bars: {bars})", fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9, wrap=True)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def oracle_note(results: pd.DataFrame) -> str:
    """What the pseudo-label accuracy column was measured against, on the data at hand."""
    if "pseudo_label_accuracy" not in results.columns or results["pseudo_label_accuracy"].isna().all():
        return ("Pseudo-label accuracy: not measured — no row of the unlabeled pool has a known label "
                "(no `oracle_label`, no hidden label).")
    parts = []
    if "label_fraction" in results.columns and (results["label_fraction"] < 1).any():
        parts.append("the labels of training rows that the label fraction moved into the pool")
    config = str(results["config_json"].iloc[0]) if "config_json" in results.columns and len(results) else ""
    if '"unlabeled":"' in config.replace(" ", "") or '"unlabeled": "' in config:
        parts.append("the label column of the external pool where it has one (hidden from training)")
    parts.append("`oracle_label` of unlabeled rows where the corpus has one (synthetic corpora)")
    return ("Pseudo-label accuracy: the final model's labels for the unlabeled pool, scored against " + "; ".join(parts)
            + ". Rows with no known label are left out of it.")


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
                  "Test scores. Folds of one seed share their data, so the spread is taken over seeds: each "
                  "seed's fold mean is one sample; a 95 % CI needs at least 3 seeds, below that the cell "
                  "gives the range [min, max]. Δ UA: paired difference to the supervised run on the same seed "
                  "and fold, averaged per seed, spread over seeds the same way. " + oracle_note(results) + "\n\n"
                  + "".join(f"- {line}\n" for line in delta_sentences(summary)) + "\n"
                  f"![comparison]({png.name})\n")
    return {"results": out / "results.csv", "summary": out / "summary.csv", "markdown": md, "chart": png}
