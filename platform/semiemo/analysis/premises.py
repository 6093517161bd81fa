"""The conditions a paper's claim rests on, measured on a sweep's own results table.

A verdict about a semi-supervised claim means something only if the thing the claim is about happened:
the unlabeled term acted on the model, the checkpoint that was scored was trained past the method's
ramp-up, the teacher whose labels a method copies knows more than chance, the labels were scarce enough
for unlabeled data to matter, and the swept points differ by more than seed noise. Each is a measured
quantity with a threshold. A failed premise makes the outcome *not tested* (with the premise and its
measured value), never *not reproduced*; points that cannot be told apart make it *undetermined*.

Premises come from two places: every analysis gets the generic set (`GENERIC`) for its semi-supervised
rows, and its YAML (`premises:`) adds its own or replaces a generic one of the same kind. A premise whose
columns the trainer did not report is *not measured*: it is listed, and it neither passes nor fails.

Per-run columns read (absent or NaN: not measured): `unlabeled_loss_active_share` (share of epochs after
warm-up with a non-zero unlabeled loss), `unlabeled_term_share_mean` (the weighted unlabeled term's mean
share of the loss after warm-up), `mask_rate_mean`, `unlabeled_loss_mean`, `selected_epoch`,
`selection_start_epoch` (the first epoch selection may pick: the end of the ramp-up), `teacher_accuracy`
(the teacher's labels on the pool against the hidden truth), `teacher_chance` (its chance level where the
teacher's classes are not the task's: paper 004's binary proxies; else 1/C of the task), and the plotted metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from semiemo.tune.space import Premise

SUPERVISED = "supervised"
# methods whose pseudo-labels come from a teacher outside the model (paper 003: visual FER; paper 004: proxies)
TEACHER_METHODS = {"cmkt": "visual", "dcmkt": "visual", "avspnet": "proxy"}
# swept weights that switch the unlabeled term off at 0: such a point is supervised by construction
ZERO_WEIGHT_COLUMNS = ("method_params.unsup_weight", "method_params.max_unsup_weight",
                       "method_params.max_consistency_weight", "method_params.lambda_u")
DEFAULT_THRESHOLD = {
    "unlabeled_active": 1.0,       # share of semi-supervised points whose runs had the unlabeled term active
    "selected_after_rampup": 0.8,  # share of semi-supervised runs whose selected epoch is past the ramp-up
    "teacher_informative": 0.1,    # margin above chance (1/C) of the teacher's pseudo-label accuracy
    "label_gap": 0.05,             # metric(high) − metric(low)
    "distinguishable": 2.0,        # span of point means / median seed-to-seed sd
    "column": 0.0,
}
ACTIVE_EPOCH_SHARE = 0.5           # a run's unlabeled term is active when non-zero in most epochs after warm-up
MIN_TERM_SHARE = 0.01              # ... and, where the run reports its weight, w·L_U is ≥ 1 % of the loss on average
ALPHA, POWER = 0.05, 0.8           # the detectable difference: two-sided 5 % test with 80 % power


@dataclass(frozen=True)
class PremiseResult:
    kind: str
    statement: str          # the premise with its threshold, in words
    measured: str           # what was measured (or why nothing could be)
    value: float            # NaN: not measured
    holds: bool | None      # None: not measured
    generic: bool = True    # from the generic set, not the YAML

    @property
    def state(self) -> str:
        return {True: "holds", False: "FAILS", None: "not measured"}[self.holds]


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["status"] == "TERMINATED"] if "status" in table.columns else table


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """The column as floats (NaN where absent)."""
    if name not in table.columns:
        return pd.Series(np.nan, index=table.index, dtype=float)
    return pd.to_numeric(table[name], errors="coerce")


def _matches(table: pd.DataFrame, where: dict[str, Any]) -> pd.Series:
    keep = pd.Series(True, index=table.index)
    for col, want in where.items():
        if col not in table.columns:
            return pd.Series(False, index=table.index)
        values = want if isinstance(want, list) else [want]
        cell = table[col]
        hit = pd.Series(False, index=table.index)
        for v in values:
            try:
                hit |= np.isclose(pd.to_numeric(cell, errors="coerce"), float(v))
            except (TypeError, ValueError):
                pass
            hit |= cell.astype(str) == str(v)
        keep &= hit
    return keep


def semi_supervised_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows whose method learns from unlabeled data with a non-zero weight."""
    if "method" not in table.columns:
        return table.iloc[0:0]
    keep = table["method"].astype(str) != SUPERVISED
    for col in ZERO_WEIGHT_COLUMNS:
        if col in table.columns:
            keep &= ~np.isclose(pd.to_numeric(table[col], errors="coerce").fillna(1.0), 0.0)
    return table[keep]


def chance_of(table: pd.DataFrame) -> float:
    """1/C from the stored confusion matrices (NaN when none)."""
    import json

    if "test_confusion" not in table.columns:
        return float("nan")
    sizes = []
    for cell in table["test_confusion"].dropna():
        try:
            m = json.loads(cell) if isinstance(cell, str) else cell
            sizes.append(len(m))
        except (TypeError, ValueError):
            continue
    sizes = [n for n in sizes if n > 0]
    return 1.0 / max(sizes) if sizes else float("nan")


# --- the measured spread of the points -------------------------------------------------------------------
@dataclass(frozen=True)
class PointSpread:
    means: pd.Series        # per point (keys), the mean over seeds
    seed_sd: float          # median over points of the seed-to-seed sd (NaN with one seed)
    seeds: int              # seeds per point (the smallest)

    @property
    def span(self) -> float:
        return float(self.means.max() - self.means.min()) if len(self.means) else float("nan")


def point_spread(table: pd.DataFrame, metric: str, keys: list[str]) -> PointSpread:
    """Point means and the seed-to-seed sd at one point (folds of a seed averaged first)."""
    t = _finished(table)
    if metric not in t.columns or t.empty:
        return PointSpread(pd.Series(dtype=float), float("nan"), 0)
    group = [k for k in keys if k in t.columns]
    by_seed = t.groupby([*group, "seed"], dropna=False)[metric].mean().reset_index() if group else \
        t.groupby("seed")[metric].mean().reset_index()
    if group:
        means = by_seed.groupby(group, dropna=False)[metric].mean()
        sd = by_seed.groupby(group, dropna=False)[metric].std(ddof=1).dropna()
        seeds = int(by_seed.groupby(group, dropna=False)["seed"].nunique().min())
    else:
        means = pd.Series([by_seed[metric].mean()])
        s = by_seed[metric].std(ddof=1)
        sd = pd.Series([s]).dropna()
        seeds = int(by_seed["seed"].nunique())
    return PointSpread(means, float(sd.median()) if len(sd) else float("nan"), seeds)


def minimum_detectable_difference(seed_sd: float, seeds: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest difference between two points, each run with `seeds` seeds, that a two-sided t-test at
    `alpha` detects with probability `power`, given the seed-to-seed sd: (t₁₋α/₂ + t_power)·sd·√(2/n)."""
    from scipy import stats

    if seeds < 2 or not (seed_sd == seed_sd):
        return float("nan")
    df = 2 * (seeds - 1)
    return float((stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * seed_sd * math.sqrt(2.0 / seeds))


def seeds_needed(difference: float, seed_sd: float, limit: int = 10_000) -> int | None:
    """Seeds per point for `difference` to be detectable (see `minimum_detectable_difference`); None
    when it cannot be said (no spread measured, no difference) or exceeds `limit`."""
    if not (difference == difference) or difference <= 0 or not (seed_sd == seed_sd):
        return None
    if seed_sd == 0:
        return 2
    n = 2
    while n <= limit:
        if minimum_detectable_difference(seed_sd, n) <= difference:
            return n
        n = n * 2 if minimum_detectable_difference(seed_sd, n * 2) > difference else n + 1
    return None


def paper_difference(reference: pd.DataFrame | None) -> float:
    """The span of the paper's numbers for this analysis (percentages as fractions); NaN when it gives none."""
    if reference is None or reference.empty or "value" not in reference.columns:
        return float("nan")
    values = pd.to_numeric(reference["value"], errors="coerce").dropna()
    if len(values) < 2:
        return float("nan")
    if values.abs().max() > 1.5:   # the papers print percentages
        values = values / 100.0
    return float(values.max() - values.min())


# --- each premise kind -----------------------------------------------------------------------------------
def _not_measured(kind: str, statement: str, why: str, generic: bool) -> PremiseResult:
    return PremiseResult(kind, statement, why, float("nan"), None, generic)


def _arm_rows(table: pd.DataFrame, p: Premise) -> pd.DataFrame:
    """The finished semi-supervised runs the premise is about (narrowed by its `where:`)."""
    rows = semi_supervised_rows(_finished(table))
    return rows[_matches(rows, p.where)] if p.where else rows


def runs_active(rows: pd.DataFrame, weighted: bool = True) -> pd.Series:
    """Per run: 1.0 if its unlabeled term acted on the model, 0.0 if not, NaN if the run reports nothing.

    Acted: the unlabeled loss was non-zero in ≥ `ACTIVE_EPOCH_SHARE` of the epochs after warm-up and, where
    the run reports its unlabeled weight, the weighted term averaged ≥ `MIN_TERM_SHARE` of the loss (a
    term of 1e-4 of the loss is non-zero and changes nothing). Runs without the epoch share fall back to
    a positive mask rate or unlabeled loss. `weighted=False` skips the share rule (a sweep over the weight
    itself, where a small weight is a point of the curve, not a failure of the run).
    """
    share = _column(rows, "unlabeled_loss_active_share")
    term = _column(rows, "unlabeled_term_share_mean")
    mask = _column(rows, "mask_rate_mean")
    loss = _column(rows, "unlabeled_loss_mean")
    active = pd.Series(np.nan, index=rows.index)
    active = active.where(share.isna(), (share >= ACTIVE_EPOCH_SHARE).astype(float))
    fallback = active.isna() & (mask.notna() | loss.notna())
    active[fallback] = ((mask[fallback].fillna(0) > 0) | (loss[fallback].fillna(0) > 0)).astype(float)
    if weighted:
        weak = active.notna() & term.notna() & (term < MIN_TERM_SHARE)
        active[weak] = 0.0
    return active


def unlabeled_active(table: pd.DataFrame, p: Premise, keys: list[str], generic: bool) -> PremiseResult | None:
    """Was the unlabeled term active at (nearly) every semi-supervised point?

    A sweep over the unlabeled weight itself (a key in `ZERO_WEIGHT_COLUMNS`) is judged differently: its
    small weights are meant to weaken the term, so each point needs a non-zero unlabeled loss only, and the
    sweep as a whole needs at least one point where the weighted term reaches `MIN_TERM_SHARE` of the loss
    — else no point of it let the unlabeled data act. The points below that share are named.
    """
    rows = _arm_rows(table, p)
    if rows.empty:
        return None
    bar = _threshold(p)
    weight_swept = any(k in ZERO_WEIGHT_COLUMNS for k in keys)
    share = _column(rows, "unlabeled_loss_active_share")
    term = _column(rows, "unlabeled_term_share_mean")
    mask = _column(rows, "mask_rate_mean")
    if weight_swept:
        statement = (f"the unlabeled loss is non-zero in ≥ {ACTIVE_EPOCH_SHARE:.0%} of the epochs after warm-up at "
                     f"≥ {bar:.0%} of the swept weights, and the weighted term reaches ≥ {MIN_TERM_SHARE:.0%} of the "
                     f"loss at one of them at least")
    else:
        statement = (f"the unlabeled term is active (non-zero in ≥ {ACTIVE_EPOCH_SHARE:.0%} of the epochs after warm-up, "
                     f"and ≥ {MIN_TERM_SHARE:.0%} of the loss where its weight is reported) "
                     f"at ≥ {bar:.0%} of the semi-supervised points")
    active = runs_active(rows, weighted=not weight_swept)
    if active.isna().all():
        return _not_measured("unlabeled_active", statement, "not measured: the runs report no "
                             "`unlabeled_loss_active_share`, `mask_rate_mean` or `unlabeled_loss_mean`", generic)
    group = [k for k in keys if k in rows.columns] or ["method"]
    per_point = rows.assign(_active=active).groupby(group, dropna=False)["_active"].mean().dropna()
    point_ok = per_point > 0.5
    value = float(point_ok.mean())
    inert = [_key(k) for k, ok in point_ok.items() if not ok]
    measured = (f"{int(point_ok.sum())} of {len(point_ok)} points active ({value:.0%}); median active-epoch share "
                f"{float(share.median()) if share.notna().any() else float('nan'):.2f}, median term share of the loss "
                f"{_percent(term)}, mean mask rate "
                f"{float(mask.mean()) if mask.notna().any() else float('nan'):.3f}"
                + (f"; inert at {', '.join(inert[:6])}" if inert else ""))
    holds = value >= bar - 1e-12
    if weight_swept and term.notna().any():
        per_point_term = rows.assign(_term=term).groupby(group, dropna=False)["_term"].median().dropna()
        small = [_key(k) for k, v in per_point_term.items() if v < MIN_TERM_SHARE]
        strong = int((per_point_term >= MIN_TERM_SHARE).sum())
        measured += (f"; weighted term ≥ {MIN_TERM_SHARE:.0%} of the loss at {strong} of {len(per_point_term)} weights"
                     + (f" (below it, the term barely acts: {', '.join(small[:6])})" if small else ""))
        holds = holds and strong > 0
    return PremiseResult("unlabeled_active", statement, measured, value, holds, generic)


def _percent(values: pd.Series) -> str:
    """A median share as a percentage with enough digits to show 1e-4 (NaN: 'not reported')."""
    if not values.notna().any():
        return "not reported"
    v = float(values.median())
    return f"{v:.2%}" if v >= 1e-3 else f"{v:.1e}"


def selected_after_rampup(table: pd.DataFrame, p: Premise, generic: bool) -> PremiseResult | None:
    rows = _arm_rows(table, p)
    if rows.empty:
        return None
    bar = _threshold(p)
    statement = f"the selected checkpoint lies past the method's ramp-up in ≥ {bar:.0%} of the semi-supervised runs"
    sel, start = _column(rows, "selected_epoch"), _column(rows, "selection_start_epoch")
    ok = sel.notna() & start.notna()
    if not ok.any():
        return _not_measured("selected_after_rampup", statement,
                             "not measured: the runs report no `selected_epoch`/`selection_start_epoch`", generic)
    past = (sel[ok] >= start[ok])
    value = float(past.mean())
    measured = (f"{value:.0%} of {int(ok.sum())} runs (median selected epoch {float(sel[ok].median()):g}, "
                f"median ramp-up end {float(start[ok].median()):g})")
    return PremiseResult("selected_after_rampup", statement, measured, value, value >= bar - 1e-12, generic)


def teacher_informative(table: pd.DataFrame, p: Premise, generic: bool) -> PremiseResult | None:
    t = _finished(table)
    rows = t[t["method"].astype(str).isin(TEACHER_METHODS)] if "method" in t.columns and not p.where else t
    if p.where:
        rows = rows[_matches(rows, p.where)]
    if rows.empty:
        return None
    column = p.column or "teacher_accuracy"
    own = _column(rows, "teacher_chance").dropna()   # a teacher with its own classes (paper 004's binary proxies)
    chance = float(own.mean()) if not own.empty and not p.column else chance_of(t)
    margin = _threshold(p)
    teachers = sorted({TEACHER_METHODS.get(str(m), str(m)) for m in rows.get("method", pd.Series(dtype=str))})
    statement = (f"the teacher ({', '.join(teachers) or 'its pseudo-labels'}) is informative: `{column}` ≥ chance "
                 f"{chance:.3f} + {margin:.2f}" if chance == chance else
                 f"the teacher is informative: `{column}` ≥ chance + {margin:.2f}")
    acc = _column(rows, column).dropna()
    if acc.empty or chance != chance:
        return _not_measured("teacher_informative", statement,
                             f"not measured: no `{column}`" + ("" if chance == chance else " / no class count"), generic)
    value = float(acc.mean())
    return PremiseResult("teacher_informative", statement, f"mean {value:.3f} over {len(acc)} runs "
                         f"(chance {chance:.3f})", value, value >= chance + margin - 1e-12, generic)


def label_gap(table: pd.DataFrame, p: Premise, metric: str) -> PremiseResult:
    t = _finished(table)
    bar = _threshold(p)
    statement = (f"the label gap is open: {metric} at {_where(p.high)} exceeds {metric} at {_where(p.low)} "
                 f"by ≥ {bar:.3f}")
    base = t[_matches(t, p.where)] if p.where else t
    hi, lo = _column(base[_matches(base, p.high)], metric).dropna(), _column(base[_matches(base, p.low)], metric).dropna()
    if hi.empty or lo.empty:
        return _not_measured("label_gap", statement, f"not measured: no rows at {_where(p.high) if hi.empty else _where(p.low)}",
                             False)
    gap = float(hi.mean() - lo.mean())
    return PremiseResult("label_gap", statement, f"gap {gap:+.4f} ({hi.mean():.4f} vs {lo.mean():.4f})", gap,
                         gap >= bar - 1e-12, False)


def column_premise(table: pd.DataFrame, p: Premise) -> PremiseResult:
    t = _finished(table)
    if p.where:
        t = t[_matches(t, p.where)]
    bar = _threshold(p)
    statement = p.description or f"{p.stat} of `{p.column}` {p.op} {bar:g}"
    values = _column(t, p.column or "").dropna()
    if values.empty:
        return _not_measured("column", statement, f"not measured: no `{p.column}` in the results", False)
    value = float(getattr(values, p.stat)())
    holds = value >= bar - 1e-12 if p.op == ">=" else value <= bar + 1e-12
    return PremiseResult("column", statement, f"{p.stat} {value:.4f} over {len(values)} runs", value, holds, False)


def distinguishable(spread: PointSpread, p: Premise, metric: str, generic: bool) -> PremiseResult | None:
    if len(spread.means) < 2:
        return None
    bar = _threshold(p)
    statement = f"the points are distinguishable: span of the point means ≥ {bar:g} × the seed-to-seed sd"
    span, sd = spread.span, spread.seed_sd
    if span == 0:
        return PremiseResult("distinguishable", statement, f"every point has the same mean {metric} "
                             f"({float(spread.means.iloc[0]):.4f}): an exact tie", 0.0, False, generic)
    if sd != sd:
        return PremiseResult("distinguishable", statement, f"span {span:.4f}; {spread.seeds} seed per point: the "
                             "seed-to-seed spread is unknown, so no difference between points can be told from noise",
                             float("nan"), False, generic)
    ratio = span / sd if sd > 0 else float("inf")
    return PremiseResult("distinguishable", statement, f"span {span:.4f} vs median seed sd {sd:.4f} "
                         f"(n={spread.seeds} seeds): ratio {ratio:.1f}", ratio, ratio >= bar - 1e-12, generic)


GENERIC: tuple[str, ...] = ("unlabeled_active", "selected_after_rampup", "teacher_informative", "distinguishable")


def evaluate(declared: list[Premise], table: pd.DataFrame, *, metric: str, keys: list[str]) -> list[PremiseResult]:
    """Every premise that applies to this table: the generic set (replaced by a declared one of the same
    kind) and the declared ones; premises with no rows to apply to are left out."""
    kinds = {p.kind for p in declared}
    todo = [(Premise(kind=k), True) for k in GENERIC if k not in kinds] + [(p, False) for p in declared]
    spread = point_spread(table, metric, keys)
    out: list[PremiseResult | None] = []
    for p, generic in todo:
        if p.kind == "unlabeled_active":
            out.append(unlabeled_active(table, p, keys, generic))
        elif p.kind == "selected_after_rampup":
            out.append(selected_after_rampup(table, p, generic))
        elif p.kind == "teacher_informative":
            out.append(teacher_informative(table, p, generic))
        elif p.kind == "label_gap":
            out.append(label_gap(table, p, metric))
        elif p.kind == "distinguishable":
            out.append(distinguishable(spread, p, metric, generic))
        else:
            out.append(column_premise(table, p))
    return [r for r in out if r is not None]


def failed(results: list[PremiseResult]) -> list[PremiseResult]:
    """Failed premises that make the outcome *not tested* (distinguishability makes it *undetermined*)."""
    return [r for r in results if r.holds is False and r.kind != "distinguishable"]


def indistinct(results: list[PremiseResult]) -> PremiseResult | None:
    return next((r for r in results if r.kind == "distinguishable" and r.holds is False), None)


def premise_lines(results: list[PremiseResult], spread: PointSpread, paper_diff: float) -> list[str]:
    """The report's premises table, then the detectable difference beside the paper's."""
    lines = ["", "## Premises (measured on this sweep)", ""]
    if results:
        lines += ["| premise | source | measured | state |", "|---|---|---|---|"]
        lines += [f"| {r.statement} | {'generic' if r.generic else 'analysis YAML'} | {r.measured} | "
                  f"{'**FAILS**' if r.holds is False else r.state} |" for r in results]
    else:
        lines.append("_no premise applies to these results_")
    mdd = minimum_detectable_difference(spread.seed_sd, spread.seeds)
    need = seeds_needed(paper_diff, spread.seed_sd)
    lines += ["", f"Smallest difference between two points this run could detect (two-sided 5 %, power 80 %, "
                  f"n={spread.seeds} seeds, seed sd {spread.seed_sd:.4f}): "
              + (f"**{mdd:.4f}**" if mdd == mdd else "not measurable (fewer than 2 seeds per point)")
              + ". Paper's difference (span of its numbers): "
              + (f"{paper_diff:.4f}" if paper_diff == paper_diff else "not given as numbers")
              + ("" if paper_diff != paper_diff else
                 f"; seeds per point it would need: {need if need is not None else 'not measurable'}") + "."]
    return lines


def _threshold(p: Premise) -> float:
    return float(p.threshold if p.threshold is not None else DEFAULT_THRESHOLD[p.kind])


def _where(sel: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sel.items()) or "all rows"


def _key(k: Any) -> str:
    return "/".join(str(v) for v in k) if isinstance(k, tuple) else str(k)
