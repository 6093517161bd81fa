"""Why a shape did not reproduce, in numbers measured on the sweep's own results table.

Each finding is one sentence with its measurement; none is an excuse without a number behind it:
- unlabeled term inert: was the unlabeled loss zero in most epochs after warm-up (the run was supervised)?
- selected inside the ramp-up: did selection pick an epoch before the unlabeled weight reached its value?
- seed noise: are the differences between points larger than the spread between seeds at one point?
- chance: is the metric near 1/C, i.e. did the models learn anything at this budget?
- training length: was the best validation epoch the last one (still improving when stopped)?
- pseudo-labels: how accurate were the labels the method trained on (against the corpus's hidden truth)?
- pool: what share of the unlabeled pool did training actually draw?
- validation vs test: does the selection metric rank points as the test metric does?
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Finding:
    what: str        # short name: "seed noise", "chance", ...
    line: str        # the measured sentence
    explains: bool   # the measurement alone could account for the failed shape


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["status"] == "TERMINATED"] if "status" in table.columns else table


def _point_keys(spec_x: str, series: str | None) -> list[str]:
    return [c for c in (series, spec_x) if c]


def seed_noise(table: pd.DataFrame, metric: str, keys: list[str]) -> Finding | None:
    """Point means' range against the typical seed-to-seed sd at one point."""
    if not keys or metric not in table.columns:
        return None
    by_seed = table.groupby([*keys, "seed"], dropna=False)[metric].mean().reset_index()
    sd = by_seed.groupby(keys, dropna=False)[metric].std(ddof=1).dropna()
    means = by_seed.groupby(keys, dropna=False)[metric].mean()
    if sd.empty or len(means) < 2:
        return None
    noise, span = float(sd.median()), float(means.max() - means.min())
    if span == 0:
        return Finding("seed noise", f"Exact tie: every point has the same mean {metric} ({float(means.iloc[0]):.4f}) — "
                                     "the swept factor changed nothing the metric sees (not seed noise: the spread "
                                     "between points is exactly 0).", True)
    ratio = span / noise if noise > 0 else float("inf")
    n_seeds = int(by_seed["seed"].nunique())
    explains = ratio < 2.0
    verdict = ("the points differ by less than two seed-sds: at this budget the shape cannot be told from noise"
               if explains else "the points differ by more than the seed noise: the shape we found is real at this budget")
    return Finding("seed noise", f"Seed noise: the point means span {span:.4f} {metric}; the median seed-to-seed sd at "
                                 f"one point is {noise:.4f} (n={n_seeds} seeds), ratio {ratio:.1f} — {verdict}.", explains)


def chance_level(table: pd.DataFrame, metric: str) -> Finding | None:
    """UA/UAR near 1/C means the models barely learned; then no hyperparameter can show its effect."""
    if not metric.endswith(("_ua", "_uar")) or "test_confusion" not in table.columns or metric not in table.columns:
        return None
    sizes = [len(_matrix(c)) for c in table["test_confusion"].dropna()]
    sizes = [n for n in sizes if n > 0]
    if not sizes:
        return None
    chance = 1.0 / max(sizes)
    mean = float(table[metric].mean())
    explains = mean < chance + 0.05
    return Finding("chance", f"Learning: mean {metric} {mean:.4f} against chance {chance:.4f} (1/{max(sizes)} classes)"
                             + (" — the models are near chance, so the swept factor has little to act on."
                                if explains else "."), explains)


def training_length(table: pd.DataFrame) -> Finding | None:
    """Best epoch == last epoch in most runs: training was cut while still improving."""
    t = _rows_where_positive(table, "epochs_run", {"best_epoch"})
    if t is None:
        return None
    share = float((t["best_epoch"] >= t["epochs_run"]).mean())
    epochs = int(t["epochs_run"].median())
    explains = share >= 0.5
    return Finding("training length", f"Training length: in {share:.0%} of {len(t)} runs the best validation epoch was "
                                      f"the last of {epochs}" + (" — still improving when stopped; the budget, not the "
                                                                 "method, may set the ranking." if explains else "."),
                   explains)


def pseudo_labels(table: pd.DataFrame, keys: list[str]) -> Finding | None:
    col = "pseudo_label_accuracy"
    if col not in table.columns or table[col].isna().all():
        return None
    per = table.groupby(keys, dropna=False)[col].mean().dropna() if keys else table[col].dropna()
    if per.empty:
        return None
    lo, hi = float(per.min()), float(per.max())
    parts = ", ".join(f"{_key(k)} {v:.3f}" for k, v in per.items()) if keys and len(per) <= 12 else f"{lo:.3f}–{hi:.3f}"
    return Finding("pseudo-labels", f"Pseudo-label accuracy against the hidden truth (last epoch, mean): {parts}.",
                   explains=hi < 0.5)


def pool_share(table: pd.DataFrame) -> Finding | None:
    t = _rows_where_positive(table, "n_unlabeled", {"unlabeled_rows_drawn"})
    if t is None:
        return None
    share = (t["unlabeled_rows_drawn"] / t["n_unlabeled"]).clip(upper=1.0)
    lo, med = float(share.min()), float(share.median())
    explains = lo < 0.5
    return Finding("pool", f"Unlabeled pool visited: median {med:.0%} of the pool's rows drawn at least once (lowest "
                           f"{lo:.0%})" + (" — part of the pool was never seen, so more unlabeled data could not act."
                                          if explains else "."), explains)


def validation_agreement(table: pd.DataFrame, metric: str, keys: list[str]) -> Finding | None:
    """Selection on validation vs the plotted test metric: do they rank the points alike?"""
    val = "val_" + metric[5:] if metric.startswith("test_") else None
    if not keys or val is None or val not in table.columns or metric not in table.columns:
        return None
    means = table.groupby(keys, dropna=False)[[val, metric]].mean().dropna()
    if len(means) < 3 or means[val].std() == 0 or means[metric].std() == 0:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(means[val], means[metric]).statistic)
    if rho != rho:
        return None
    explains = rho < 0.3
    return Finding("validation vs test", f"Validation vs test: Spearman ρ={rho:+.2f} between the points' {val} and "
                                         f"{metric}" + (" — validation and test disagree (small or shifted validation "
                                                        "sets), so selection is noisy." if explains else "."), explains)


def unlabeled_inert(table: pd.DataFrame) -> Finding | None:
    """Semi-supervised runs whose unlabeled term did not act after warm-up — zero in most epochs (no
    prediction passed the threshold, or the weight was still ramping) or too small a share of the loss
    to move the model (`premises.runs_active`): the method trained as supervised."""
    from semiemo.analysis.premises import MIN_TERM_SHARE, runs_active, semi_supervised_rows

    rows = semi_supervised_rows(table)
    active = runs_active(rows).dropna()
    if active.empty:
        return None
    inert = float((active < 0.5).mean())
    mask = pd.to_numeric(rows.get("mask_rate_mean", pd.Series(dtype=float)), errors="coerce").dropna()
    mask_txt = f"; mean mask rate {float(mask.mean()):.3f}" if len(mask) else ""
    term = pd.to_numeric(rows.get("unlabeled_term_share_mean", pd.Series(dtype=float)), errors="coerce").dropna()
    term_txt = f"; median weighted term {float(term.median()):.1e} of the loss" if len(term) else ""
    return Finding("unlabeled term inert", f"Unlabeled term inert: in {inert:.0%} of {len(active)} semi-supervised runs "
                   f"the unlabeled loss was zero in most epochs after warm-up or under {MIN_TERM_SHARE:.0%} of the "
                   f"loss{term_txt}{mask_txt}"
                   + (" — those runs trained as supervised; the swept factor could not act." if inert >= 0.5 else "."),
                   inert >= 0.5)


def selected_in_rampup(table: pd.DataFrame) -> Finding | None:
    """Checkpoints selected before the unlabeled weight reached its value score a partly-supervised model."""
    from semiemo.analysis.premises import semi_supervised_rows

    rows = semi_supervised_rows(table)
    if not {"selected_epoch", "selection_start_epoch"} <= set(rows.columns):
        return None
    sel = pd.to_numeric(rows["selected_epoch"], errors="coerce")
    start = pd.to_numeric(rows["selection_start_epoch"], errors="coerce")
    ok = sel.notna() & start.notna()
    if not ok.any():
        return None
    inside = float((sel[ok] < start[ok]).mean())
    return Finding("selected inside the ramp-up", f"Selected inside the ramp-up: {inside:.0%} of {int(ok.sum())} "
                   f"semi-supervised runs selected an epoch before their ramp-up ended (median selected "
                   f"{float(sel[ok].median()):g}, ramp-up end {float(start[ok].median()):g})"
                   + (" — the scored checkpoints barely used the unlabeled term." if inside >= 0.5 else "."),
                   inside >= 0.5)


def _matrix(cell) -> list:
    """A confusion cell as stored in results (a JSON string, or a list)."""
    import json

    try:
        m = json.loads(cell) if isinstance(cell, str) else cell
    except ValueError:
        return []
    return list(m) if isinstance(m, (list, tuple, np.ndarray)) else []


def _key(k) -> str:
    return "/".join(str(v) for v in k) if isinstance(k, tuple) else str(k)


def diagnose(table: pd.DataFrame, *, metric: str, x: str, series: str | None = None) -> list[Finding]:
    """Every finding this table supports, those that could explain the failure first."""
    t = _finished(table)
    if t.empty:
        return [Finding("no runs", "No finished trials: nothing to measure.", True)]
    keys = _point_keys(x, series)
    found = [f for f in (unlabeled_inert(t), selected_in_rampup(t), seed_noise(t, metric, keys),
                         chance_level(t, metric), training_length(t),
                         pseudo_labels(t, keys), pool_share(t), validation_agreement(t, metric, keys)) if f]
    return sorted(found, key=lambda f: not f.explains)


def diagnosis_lines(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    lines = ["", "## Diagnosis (measured on this sweep)", ""]
    lines += [f"- {'**' if f.explains else ''}{f.line}{'**' if f.explains else ''}" for f in findings]
    return lines


def headline(findings: list[Finding]) -> str:
    """The first finding that could explain the failure, shortened for a summary table."""
    for f in findings:
        if f.explains:
            return f.line.split(" — ")[0]
    return "no single measured cause (see the report)"


def _rows_where_positive(table: pd.DataFrame, column: str, needs: set[str]) -> pd.DataFrame | None:
    """Rows with `column` > 0, when the table has it and `needs`; None when there are none to measure."""
    if not ({column} | needs) <= set(table.columns):
        return None
    t = table[table[column] > 0]
    return None if t.empty else t
