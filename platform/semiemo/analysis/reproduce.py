"""`reproduce(name)`: run one analysis's sweep, draw its figure, and set it beside the paper's rows.

Output (`<out>/<name>[__<corpus>]/`): `figure.png`, `report.md` (our mean per point with its spread over
seeds — a 95 % CI with ≥ 3 seeds, else a range, n given; see `analysis.spread` —, the
matching rows of paper_results.csv — numbers where the paper gives numbers, the described shape where
it gives a curve — and a one-line verdict), `results.parquet` (the sweep's table).

The shape test (`shape_verdict`) is deliberately simple and stated in the verdict line:
- peak_interior: the best mean lies at neither end of the swept range (rises then falls);
- increasing / decreasing: Spearman ρ between x order and mean ≥ 0.8 (≤ −0.8), and last > first
  (last < first) — a trend, not strict monotonicity, since the papers' own curves are not strict;
- best_at X: X has the best mean of all points;
- with a `series` (e.g. method), every series is tested and all must pass;
- series_order: each series' mean over all x ranks the series; the paper's rows (their `method`
  named like our series, mean of their values) rank the same names; reproduced iff Kendall τ
  between the two rankings ≥ 0.5 (the papers' own gaps are often within noise: an ordering that
  mostly agrees, not an exact one). The line also says whether the paper's best is ours.

Outcomes: REPRODUCED; PARTLY REPRODUCED (some series pass and some fail, or a series ordering that
agrees more than it disagrees, τ > 0, without reaching the bar); NOT REPRODUCED; UNDETERMINED (an exact
tie where the claim is decided — ties are never broken by position —, or points whose means span less
than twice the seed-to-seed sd); NOT TESTED (no claim to test, or a premise of the claim failed: the
report names the premise and its measured value; see `analysis.premises`). Every report lists its
premises as measured, the smallest difference the run could detect and the seeds the paper's difference
would need. A shape that did not reproduce, or could not be tested, gets a measured diagnosis
(`analysis.diagnosis`) in its report.

Every run writes `status.json` beside the report (verdict, budget, corpus, seeds, wall time): what
`--list` and `--all`'s index read.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from semiemo.analysis.figures import SERIES_ALL, curve_caption, plot_sweep, sweep_curve
from semiemo.analysis.spread import Spread
from semiemo.analysis.reference import is_shape_row, reference_rows
from semiemo.tune.space import SearchSpace, ShapeClaim, load_spec

TREND_RHO = 0.8
ORDER_TAU = 0.5
REPORT = "report.md"
FIGURE = "figure.png"
STATUS = "status.json"


def search_spaces_dir() -> Path:
    """$SEMIEMO_SEARCH_SPACES, else `search_spaces/` of the source checkout, else ./search_spaces."""
    env = os.environ.get("SEMIEMO_SEARCH_SPACES")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "search_spaces").is_dir():
            return parent / "search_spaces"
    return Path("search_spaces").resolve()


def reproduce_location(budget: str | None = None) -> str:
    """`<storage root>/reproduce/<budget>` (a folder or a URI): each budget keeps its own reports and sweeps."""
    from semiemo import storage

    return storage.location("reproduce", budget or "full")


def reproduce_root(budget: str | None = None) -> Path:
    """The local folder reports are written in: `reproduce_location`, or its staging mirror for a URI
    (the `reproduce` command uploads it)."""
    from semiemo import storage

    return storage.local_dir(reproduce_location(budget))


def reproduce_sweeps(budget: str | None = None) -> str:
    """`<storage root>/sweeps/reproduce-<budget>` (a folder or a URI)."""
    from semiemo import storage

    return storage.location("sweeps", f"reproduce-{budget or 'full'}")


def spec_path(name: str) -> Path:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = search_spaces_dir() / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in search_spaces_dir().glob("*.yaml"))
        raise FileNotFoundError(f"no analysis named {name!r} in {search_spaces_dir()}; available: {known}")
    return path


@dataclass
class Verdict:
    reproduced: bool | None      # None: nothing to test (no shape claimed, too few points, a tie, a failed premise)
    line: str
    partly: bool = False         # not reproduced as a whole, but part of it was (see the module doc)
    undetermined: bool = False   # the data cannot decide: an exact tie where the claim is decided, or points
                                 # that do not differ by more than seed noise

    @property
    def outcome(self) -> str:
        """reproduced | partly | not | undetermined | not tested."""
        if self.reproduced:
            return "reproduced"
        if self.undetermined:
            return "undetermined"
        if self.reproduced is None:
            return "not tested"
        return "partly" if self.partly else "not"


def best_points(means: np.ndarray) -> list[int]:
    """Every index holding the best mean: exact ties are kept, never broken by position (`nanargmax`
    would name the first of tied points "best")."""
    finite = np.where(np.isfinite(means))[0]
    if not len(finite):
        return []
    top = float(np.nanmax(means))
    return [int(i) for i in finite if means[i] == top]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.isclose(float(a), float(b)))
    except (TypeError, ValueError):
        return str(a) == str(b)


def _one_series(curve: pd.DataFrame, claim: ShapeClaim, xname: str) -> Verdict:
    xs, means = list(curve["x"]), curve["mean"].to_numpy(dtype=float)
    if claim.kind == "none":
        return Verdict(None, "no curve shape claimed by the paper")
    if len(xs) < (3 if claim.kind == "peak_interior" else 2):
        return Verdict(None, f"{len(xs)} points: too few to test '{claim.kind}'")
    tied = best_points(means)
    if not tied:
        return Verdict(None, "no finite means to test")
    best = tied[0]
    best_txt = (f"best {xname}={_fmt(xs[best])} ({means[best]:.4f})" if len(tied) == 1 else
                f"best {xname} tied at {', '.join(_fmt(xs[i]) for i in tied)} ({means[best]:.4f} each)")
    if claim.kind == "peak_interior":
        inside = [0 < i < len(xs) - 1 for i in tied]
        if len(set(inside)) > 1:
            return Verdict(None, f"rises then falls? undetermined — exact tie between an interior point and an end: "
                                 f"{best_txt}", undetermined=True)
        ok = inside[0]
        near = f"; paper's peak near {_fmt(claim.near)}" if claim.near is not None else ""
        where = "interior" if ok else ("at the low end" if best == 0 else "at the high end")
        return Verdict(ok, f"rises then falls? peak {where}: {best_txt}{near}")
    if claim.kind in ("increasing", "decreasing"):
        from scipy.stats import spearmanr

        if len(set(means[np.isfinite(means)].tolist())) == 1:
            return Verdict(None, f"{claim.kind}? undetermined — every point has the same mean ({means[0]:.4f}): an "
                                 "exact tie, no trend to test", undetermined=True)
        rho = float(spearmanr(np.arange(len(xs)), means).statistic)
        sign = 1 if claim.kind == "increasing" else -1
        ok = sign * rho >= TREND_RHO - 1e-9 and sign * (means[-1] - means[0]) > 0
        return Verdict(ok, f"{claim.kind}? Spearman ρ={rho:+.2f} (need {'≥' if sign > 0 else '≤'} {sign * TREND_RHO:+.1f}), "
                           f"first {means[0]:.4f} → last {means[-1]:.4f}")
    if claim.kind == "best_at":
        target = [i for i, x in enumerate(xs) if _same(x, claim.value)]
        if not target:
            return Verdict(None, f"{xname}={_fmt(claim.value)} was not swept")
        if target[0] in tied and len(tied) > 1:
            return Verdict(None, f"best at {xname}={_fmt(claim.value)}? undetermined — {best_txt}: "
                                 f"{_fmt(claim.value)} ties with other points", undetermined=True)
        ok = target[0] == best
        gap = means[best] - means[target[0]]
        return Verdict(ok, f"best at {xname}={_fmt(claim.value)}? {best_txt}; {_fmt(claim.value)} is {gap:.4f} below the best")
    raise ValueError(f"unknown shape kind {claim.kind!r}")


def series_order_verdict(curve: pd.DataFrame, reference: pd.DataFrame | None) -> Verdict:
    """Rank the series by their mean over x and compare with the paper's ranking (Kendall τ)."""
    from scipy.stats import kendalltau

    if reference is None or reference.empty:
        return Verdict(None, "**NOT TESTED** (series_order) — no paper rows to rank")
    paper = pd.to_numeric(reference["value"], errors="coerce").groupby(reference["method"].astype(str)).mean().dropna()
    ours = curve.groupby("series")["mean"].mean()
    common = [m for m in paper.index if m in ours.index]
    if len(common) < 3:
        return Verdict(None, f"**NOT TESTED** (series_order) — {len(common)} series shared with the paper's rows (need ≥ 3)")
    if ours[common].nunique() == 1:
        return Verdict(None, f"**UNDETERMINED** (series_order) — all {len(common)} series have the same mean "
                             f"({float(ours[common].iloc[0]):.4f}): an exact tie, no ranking", undetermined=True)
    tau = float(kendalltau(paper[common].to_numpy(), ours[common].to_numpy()).statistic)
    tau = 0.0 if tau != tau else tau
    rank = lambda v: " > ".join(f"{m} {v[m]:.3f}" for m in sorted(common, key=lambda m: -v[m]))  # noqa: E731
    same_best = max(common, key=lambda m: paper[m]) == max(common, key=lambda m: ours[m])
    ok = tau >= ORDER_TAU - 1e-9
    partly = not ok and tau > 0
    head = "REPRODUCED" if ok else ("PARTLY REPRODUCED" if partly else "NOT REPRODUCED")
    return Verdict(ok, partly=partly, line=f"**{head}** (series_order) — Kendall τ={tau:+.2f} (need ≥ {ORDER_TAU:+.1f}) over "
                       f"{len(common)} series; paper's best is {'also' if same_best else 'not'} ours. "
                       f"Paper: {rank(paper)}. Ours: {rank(ours)}")


def beats_baseline_verdict(table: pd.DataFrame, claim: ShapeClaim, x: str, metric: str) -> tuple[Verdict, list[str]]:
    """Every x but the baseline against the baseline, paired on (seed, fold): reproduced iff each paired Δ's
    95 % CI over ≥ `claim.min_seeds` seeds lies above 0. Also the table of Δs for the report."""
    from semiemo.analysis.spread import paired_over_seeds

    done = table[table["status"] == "TERMINATED"] if "status" in table.columns else table
    base_name = str(claim.value)
    if done.empty or x not in done.columns or metric not in done.columns:
        return Verdict(None, "**NOT TESTED** (beats_baseline) — no finished trials"), []
    key = ["seed", "fold"]
    base = done[done[x].astype(str) == base_name].groupby(key)[metric].mean()
    if base.empty:
        return Verdict(None, f"**NOT TESTED** (beats_baseline) — the baseline {base_name!r} did not run"), []
    rows = ["", f"## Paired difference to {base_name} ({metric}, same seed and fold)", "",
            "| arm | Δ (spread) | seeds | CI excludes 0 above |", "|---|---|---|---|"]
    oks, parts, short = [], [], []
    for arm, g in done[done[x].astype(str) != base_name].groupby(x, sort=False):
        d = paired_over_seeds(g.groupby(key)[metric].mean(), base)
        ok = d.kind == "ci95" and d.n >= claim.min_seeds and d.low > 0
        oks.append(ok)
        rows.append(f"| {arm} | {d.cell(digits=4, signed=True)} | {d.n} | {'yes' if ok else 'no'} |")
        parts.append(f"{arm} {d.cell(digits=3, signed=True)}")
        if d.n < claim.min_seeds:
            short.append(str(arm))
    if short:
        return Verdict(None, f"**NOT TESTED** (beats_baseline) — fewer than {claim.min_seeds} paired seeds for "
                             f"{', '.join(short)}: no CI to test. " + "; ".join(parts)), rows
    ok = all(oks)
    partly = not ok and any(oks)
    head = "REPRODUCED" if ok else ("PARTLY REPRODUCED" if partly else "NOT REPRODUCED")
    return Verdict(ok, f"**{head}** (beats_baseline; {sum(oks)} of {len(oks)} beat {base_name} with a 95 % CI above 0) — "
                       + "; ".join(parts), partly=partly), rows


def recovers_gap_verdict(table: pd.DataFrame, claim: ShapeClaim, x: str, metric: str) -> tuple[Verdict, list[str]]:
    """The arm `claim.value` recovers ≥ `claim.share` of the gap up to the supervised arm `claim.high`
    (`analysis.gap_recovery`); also the table of every SSL arm's share for the report."""
    from semiemo.analysis.gap_recovery import arm_shares, gap_lines, judge

    if not claim.high:
        return Verdict(None, "**NOT TESTED** (recovers_gap) — the claim names no `high` arm (supervised @ 100 %)"), []
    shares = arm_shares(table, x, metric, str(claim.high))
    rows = gap_lines(shares, str(claim.high), metric) if shares else []
    judged_arm = next((s for s in shares if s["arm"] == str(claim.value)), None)
    if judged_arm is None:
        return Verdict(None, f"**NOT TESTED** (recovers_gap) — arm {claim.value!r} or its supervised partners did not "
                             f"finish"), rows
    ok, partly, words = judge(judged_arm["share"], claim.share, claim.min_seeds)
    head = {True: "REPRODUCED", False: "PARTLY REPRODUCED" if partly else "NOT REPRODUCED", None: "NOT TESTED"}[ok]
    return Verdict(ok, f"**{head}** (recovers_gap) — {claim.value} at {judged_arm['fraction']:.0%} labels: {words}",
                   partly=partly), rows


def shape_verdict(curve: pd.DataFrame, claim: ShapeClaim, xname: str = "x",
                  reference: pd.DataFrame | None = None) -> Verdict:
    """Test the paper's claimed shape on our mean curve; one line that says what was tested and found."""
    if curve.empty:
        return Verdict(None, "no finished trials to test")
    if claim.kind == "series_order":
        return series_order_verdict(curve, reference)
    parts, oks, unds = [], [], []
    for s, g in curve.groupby("series", sort=False):
        v = _one_series(g.reset_index(drop=True), claim, xname)
        oks.append(v.reproduced)
        unds.append(v.undetermined)
        parts.append(v.line if s == SERIES_ALL else f"[{s}] {v.line}")
    tested = [o for o in oks if o is not None]
    undetermined = any(u for u in unds)
    ok = None if not tested or undetermined else all(tested)
    partly = ok is False and any(tested)
    head = {True: "REPRODUCED", False: "NOT REPRODUCED", None: "NOT TESTED"}[ok]
    kind = claim.kind
    if undetermined:
        head, kind = "UNDETERMINED", f"{claim.kind}; exact tie in {sum(unds)} of {len(unds)} series"
    elif partly:
        head, kind = "PARTLY REPRODUCED", f"{claim.kind}; {sum(tested)} of {len(tested)} series"
    return Verdict(ok, f"**{head}** ({kind}) — " + "; ".join(parts), partly=partly, undetermined=undetermined)


def markdown_report(spec: SearchSpace, table: pd.DataFrame, figure: Path, *, corpus: str,
                    budget: str | None = None) -> tuple[str, Verdict]:
    curve = sweep_curve(table, spec)
    ref = reference_rows(spec.reference)
    delta_rows: list[str] = []
    if spec.reference.shape.kind == "beats_baseline":
        verdict, delta_rows = beats_baseline_verdict(table, spec.reference.shape, spec.x_param, spec.plot_metric)
    elif spec.reference.shape.kind == "recovers_gap":
        verdict, delta_rows = recovers_gap_verdict(table, spec.reference.shape, spec.x_param, spec.plot_metric)
    else:
        verdict = shape_verdict(curve, spec.reference.shape, spec.parameters[spec.x_param].label or spec.x_param, ref)
    lines = [f"# {spec.name} — paper {spec.paper}", "", spec.description.strip(), "",
             (f"Budget `{budget}`. " if budget else "") +
             f"Corpus `{corpus}`, method `{spec.base_config().method}`, metric `{spec.plot_metric}` "
             f"(objective `{spec.metric}`), {len(table)} result rows, "
             f"{table['trial_id'].nunique() if 'trial_id' in table else 0} trials.", "",
             f"![{spec.name}]({figure.name})", "", "## Ours", "",
             f"{spec.plot_metric}: {curve_caption(curve)}." if not curve.empty else "_no finished trials_", ""]
    series = spec.plot.series
    head = ([series] if series else []) + [spec.x_param, f"{spec.plot_metric} (spread)", "seeds", "folds"] + list(spec.plot.also)
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    also = {m: {(str(r["series"]), str(r["x"])): r["mean"] for _, r in sweep_curve(table, spec, m).iterrows()}
            for m in spec.plot.also}
    for _, r in curve.iterrows():
        spread = Spread(r["mean"], r["low"], r["high"], int(r["n"]), r["unit"], r["kind"])
        seeds, folds = (1, int(r["n"])) if r["unit"] == "fold" else (int(r["n"]), "—")
        cells = ([str(r["series"])] if series else []) + [_fmt(r["x"]), spread.cell(digits=4), str(seeds), str(folds)]
        cells += [f"{also[m][(str(r['series']), str(r['x']))]:.4f}" if (str(r["series"]), str(r["x"])) in also[m] else "—"
                  for m in spec.plot.also]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Paper (paper_results.csv)", ""]
    if ref.empty:
        lines.append("_no matching rows_")
    else:
        cols = ["paper", "source", "dataset", "setting", "method", "metric", "value"]
        lines += ["| " + " | ".join(cols + ["kind"]) + " |", "|" + "---|" * (len(cols) + 1)]
        for _, r in ref.iterrows():
            kind = "shape" if is_shape_row(r["value"]) else "number"
            lines.append("| " + " | ".join(str(r[c]).replace("|", "/") for c in cols) + f" | {kind} |")
    lines += delta_rows
    lines += pool_coverage_lines(table, spec)
    from semiemo.analysis import premises as pm

    keys = [k for k in (spec.plot.series, spec.x_param) if k]
    measured = pm.evaluate(spec.premises, table, metric=spec.plot_metric, keys=keys)
    lines += pm.premise_lines(measured, pm.point_spread(table, spec.plot_metric, keys), pm.paper_difference(ref))
    shape = verdict
    verdict = judged(verdict, measured)
    claim = spec.reference.shape
    lines += ["", "## Verdict", "", f"Paper's shape: {claim.description or claim.kind}", "", verdict.line, ""]
    if verdict is not shape:  # the means' test without its outcome word: a report whose premise failed never says REPRODUCED
        lines += [f"What the means show (not a verdict): {means_only(shape.line)}", ""]
    if verdict.reproduced is False or verdict.outcome in ("not tested", "undetermined") and not table.empty:
        from semiemo.analysis.diagnosis import diagnose, diagnosis_lines

        lines += diagnosis_lines(diagnose(table, metric=spec.plot_metric, x=spec.x_param, series=spec.plot.series)) + [""]
    return "\n".join(lines), verdict


def means_only(line: str) -> str:
    """A verdict line without its bold outcome word ("**REPRODUCED** (increasing) — ..." -> "(increasing) — ..."):
    what the means showed, for a report whose verdict is another (a failed premise, points within noise)."""
    return re.sub(r"^\*\*[A-Z ]+\*\*\s*", "", line)


def judged(verdict: Verdict, measured: list) -> Verdict:
    """The shape verdict after its premises: a failed premise makes it *not tested*, points that do not differ
    by more than seed noise make it *undetermined* — each with the premise and its measured value."""
    from semiemo.analysis.premises import failed, indistinct

    bad = failed(measured)
    if bad:
        return Verdict(None, "**NOT TESTED** (premise failed) — " + "; ".join(
            f"premise: {r.statement}; measured: {r.measured}" for r in bad))
    if verdict.outcome in ("reproduced", "partly", "not"):
        flat = indistinct(measured)
        if flat is not None:
            return Verdict(None, f"**UNDETERMINED** (points indistinguishable) — premise: {flat.statement}; "
                                 f"measured: {flat.measured}", undetermined=True)
    return verdict


def pool_coverage_lines(table: pd.DataFrame, spec: SearchSpace) -> list[str]:
    """For unlabeled-quantity analyses: how much of each point's pool training actually drew.

    A point whose pool is larger than the rows drawn cannot differ from a smaller one by data it never
    saw; the report says so instead of letting a flat curve speak for the method."""
    if spec.x_param != "unlabeled_quantity" or "unlabeled_rows_drawn" not in table.columns or table.empty:
        return []
    per_point = table.groupby(spec.x_param).agg(pool=("n_unlabeled", "mean"), drawn=("unlabeled_rows_drawn", "mean"),
                                                draws=("unlabeled_draws", "mean"))
    lines = ["", "## Pool actually used", "", "| unlabeled quantity | pool rows | distinct rows drawn | draws per drawn row |",
             "|---|---|---|---|"]
    short = []
    for x, r in per_point.iterrows():
        lines.append(f"| {_fmt(x)} | {r['pool']:,.0f} | {r['drawn']:,.0f} | "
                     f"{(r['draws'] / r['drawn']) if r['drawn'] else float('nan'):.1f} |")
        if r["drawn"] < r["pool"]:
            short.append(_fmt(x))
    if short:
        lines += ["", f"**At {', '.join(short)} training drew fewer distinct rows than the pool holds**: those points "
                  "are capped by the training budget (steps × μ·B), not by the pool; a flat curve there says nothing "
                  "about more unlabeled data. Raise `train.epochs`/`steps_per_epoch` or μ to test them."]
    return lines


def reproduce(name: str, *, corpus: str | None = None, quick: bool = False, out_dir: str | Path | None = None,
              storage_dir: str | Path | None = None, address: str | None = None, resume: bool = True,
              data: Any = None, unlabeled: str | None = None, budget: str | None = None,
              verbose: int = 1, optuna_storage: str | None = None) -> dict[str, Any]:
    """Run the analysis `name` (a file in search_spaces/ or a YAML path); write figure + report + status.

    `budget`: quick | full | paper (`quick=True` is `budget="quick"`); each budget has its own sweep
    and report directories, so a quick run never resumes into a full one."""
    from semiemo.tune.runner import run_sweep

    budget = budget or ("quick" if quick else "full")
    spec = load_spec(spec_path(name), corpus=corpus, budget=budget, unlabeled=unlabeled)
    check_corpus_present(str(spec.base_config().corpus))
    t0 = time.time()
    from semiemo.tune.runner import sweep_dir

    storage = storage_dir or reproduce_sweeps(budget)
    table = run_sweep(spec, address=address, storage_dir=storage, resume=resume, data=data, verbose=verbose,
                      optuna_storage=optuna_storage)
    return render(spec, table, out_dir=out_dir or reproduce_root(budget), budget=budget, wall_s=time.time() - t0,
                  trials_dir=sweep_dir(spec, storage) / "trials")


REAL_CORPORA = ("casia", "iemocap", "meld")  # corpus kinds read from disk (the synthetic ones are generated)


class CorpusAbsent(FileNotFoundError):
    """The analysis's real corpus is not on this machine: skip it, said why. Only `check_corpus_present` raises
    it, so a file missing later in a run (weights, a trial's folder) is a failure, not a skip."""


def check_corpus_present(corpus: str) -> None:
    """A real corpus that is not on this machine raises CorpusAbsent (naming the folder and the fix)
    before Ray or Tune start, so an analysis on it is skipped at once with that message."""
    if corpus.split(":", 1)[0] in REAL_CORPORA:
        from semiemo.corpora import load_manifest

        try:
            load_manifest(corpus)
        except FileNotFoundError as e:
            raise CorpusAbsent(*e.args) from e


def render(spec: SearchSpace, table: pd.DataFrame, out_dir: str | Path | None = None, *,
           budget: str | None = None, wall_s: float | None = None, trials_dir: Path | None = None) -> dict[str, Any]:
    """Figure + Markdown report (+ `status.json`) for a finished sweep's table; `trials_dir` (the sweep's
    per-trial outputs) is read for `plot.loss_curves`."""
    out = Path(out_dir or reproduce_root(budget)) / spec.name
    out.mkdir(parents=True, exist_ok=True)
    if spec.plot.kind == "confusion":
        from semiemo.analysis.confusion_panels import panel_file, plot_confusion_panels

        figure, shares = plot_confusion_panels(table, spec, out / FIGURE)
    else:
        figure, shares = plot_sweep(table, spec, out / FIGURE), {}
    corpus = str(spec.base_config().corpus)
    if trials_dir is not None:
        table = with_teacher_accuracy(table, Path(trials_dir))
    text, verdict = markdown_report(spec, table, figure, corpus=corpus, budget=budget)
    if shares:
        text += "\n## Confusion panels\n\nShare of test predictions on the most predicted class (1/C = no preference):\n\n"
        text += "\n".join(f"- {k}: {v:.3f} ([panel]({panel_file(k)}))" for k, v in shares.items()) + "\n"
    if spec.plot.loss_curves and trials_dir is not None:
        text += loss_curve_section(spec, table, Path(trials_dir), out)
    (out / REPORT).write_text(text)
    previous = read_status(out)
    reanalysed_s = None
    if previous and previous.get("status") == "done" and _same_trials(out / "results.parquet", table):
        # the sweep restored the trials that status ran (only analysis fields changed): their cost is that run's
        wall_s, reanalysed_s = previous.get("wall_s"), wall_s
    table.to_parquet(out / "results.parquet", index=False)
    failed = int(table["trial_id"][table["status"] == "ERROR"].nunique()) if {"status", "trial_id"} <= set(table.columns) else 0
    why = _why(verdict, table, spec)
    if failed:  # not done: a rerun retries the failed trials (Tune restore) instead of skipping the analysis
        why = (f"{failed} of {table['trial_id'].nunique()} trials failed (their errors: errors.csv in the sweep's "
               f"folder); run again to retry them — {why}")
    status = {"name": spec.name, "paper": spec.paper, "budget": budget or "full", "corpus": corpus,
              "status": "error" if failed else "done", "outcome": verdict.outcome, "verdict": verdict.line, "why": why,
              "seeds": int(table["seed"].nunique()) if "seed" in table.columns and len(table) else 0,
              "trials": int(table["trial_id"].nunique()) if "trial_id" in table.columns and len(table) else 0,
              "wall_s": wall_s, "reanalysis_wall_s": reanalysed_s, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
              "spec_digest": spec_digest(spec)}
    write_status(out, status)
    return {"name": spec.name, "figure": figure, "report": out / REPORT, "verdict": verdict.line,
            "reproduced": verdict.reproduced, "outcome": verdict.outcome, "table": table, "status": status}


TEACHER_TAGS = {"cmkt": "oracle_accuracy/visual", "dcmkt": "oracle_accuracy/visual", "avspnet": "proxy_accuracy"}


def with_teacher_accuracy(table: pd.DataFrame, trials_dir: Path) -> pd.DataFrame:
    """`teacher_accuracy` per row of a teacher method (paper 003's visual labels, paper 004's proxies) from its
    trial's TensorBoard logs: the last epoch's accuracy of the teacher's labels on the pool against the hidden
    truth, averaged over the trial's seeds and folds. Rows already carrying it, or without logs, are left alone."""
    if table.empty or "method" not in table.columns or "trial_id" not in table.columns:
        return table
    todo = table["method"].astype(str).isin(TEACHER_TAGS)
    if "teacher_accuracy" in table.columns:
        todo &= pd.to_numeric(table["teacher_accuracy"], errors="coerce").isna()
    if not todo.any():
        return table
    from semiemo.analysis.loss_curves import read_scalars

    table = table.copy()
    if "teacher_accuracy" not in table.columns:
        table["teacher_accuracy"] = np.nan
    for (trial, method), idx in table[todo].groupby(["trial_id", "method"]).groups.items():
        folder = trials_dir / str(trial)
        if not folder.is_dir():
            continue
        try:
            scalars = read_scalars(folder)
        except (FileNotFoundError, ValueError):
            continue
        tag = scalars[scalars["tag"] == TEACHER_TAGS[str(method)]]
        if tag.empty:
            continue
        last = tag.sort_values("step").groupby("events_dir")["value"].last()
        table.loc[idx, "teacher_accuracy"] = float(last.mean())
    return table


LOSS_FIGURE = "loss_curves.png"


def loss_curve_section(spec: SearchSpace, table: pd.DataFrame, trials_dir: Path, out: Path) -> str:
    """The per-epoch training losses of the last x point's trials, drawn from their TensorBoard logs."""
    from semiemo.analysis.loss_curves import plot_loss_curves, trend_summary

    done = table[table["status"] == "TERMINATED"] if "status" in table.columns else table
    if done.empty or spec.x_param not in done.columns:
        return ""
    last = sweep_curve(done, spec)["x"].iloc[-1]
    ids = done[done[spec.x_param].astype(str) == str(last)]["trial_id"].unique()
    dirs = [trials_dir / str(t) for t in ids if (trials_dir / str(t)).is_dir()]
    tags = tuple(spec.plot.loss_curves)
    try:
        figure = plot_loss_curves(dirs, out / LOSS_FIGURE, tags)
        trends = trend_summary(dirs, tags)
    except (FileNotFoundError, ValueError) as e:
        return f"\n## Loss curves\n\n_not drawn: {e}_\n"
    lines = ["", f"## Loss curves ({spec.x_param}={_fmt(last)}, {len(dirs)} trials)", "", f"![loss curves]({figure.name})", "",
             "| loss | first epoch | last epoch | direction |", "|---|---|---|---|"]
    lines += [f"| {t} | {a:+.4f} | {b:+.4f} | {'down' if b < a else 'up'} |" for t, (a, b) in trends.items()]
    if {"cls", "pair", "unpaired"} <= set(trends):   # paper 001 Fig. 7(b)'s claims
        down = trends["cls"][1] < trends["cls"][0]
        d_pair, d_unp = (trends[t][1] - trends[t][0] for t in ("pair", "unpaired"))
        lines += ["", f"Paper 001 Fig. 7(b): L_cls falls — {'yes' if down else 'no'}; L_pair and L_unpaired move in "
                      f"opposite directions — {'yes' if d_pair * d_unp < 0 else 'no'} ({d_pair:+.4f} vs {d_unp:+.4f})."]
    return "\n".join(lines) + "\n"


def _why(verdict: Verdict, table: pd.DataFrame, spec: SearchSpace) -> str:
    """One phrase for the summary table: what was tested, and for a failure the measured lead cause."""
    claim = verdict.line.split(" — ", 1)[-1]
    short = claim if len(claim) <= 160 else claim[:157] + "…"
    if verdict.reproduced is False:
        from semiemo.analysis.diagnosis import diagnose, headline

        return f"{short} · diagnosis: {headline(diagnose(table, metric=spec.plot_metric, x=spec.x_param, series=spec.plot.series))}"
    return short


def _same_trials(results: Path, table: pd.DataFrame) -> bool:
    """Whether `table` holds the very trials of the results last written beside the report (Tune restored
    them instead of running new ones): the same trial ids, none of them new."""
    if "trial_id" not in table.columns or not results.is_file():
        return False
    try:
        before = pd.read_parquet(results, columns=["trial_id"])["trial_id"]
    except (OSError, ValueError, KeyError):
        return False
    return len(before) > 0 and set(before.astype(str)) == set(table["trial_id"].astype(str))


def spec_digest(spec: SearchSpace) -> str:
    """A hash of what the analysis runs: a changed YAML is not 'done' any more."""
    import hashlib

    body = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def write_status(folder: Path, status: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (STATUS + ".tmp")
    tmp.write_text(json.dumps(status, indent=1, default=str))
    tmp.replace(folder / STATUS)


def read_status(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / STATUS).read_text())
    except (OSError, ValueError):
        return None


def list_analyses(out_dir: str | Path | None = None) -> pd.DataFrame:
    """Every analysis in search_spaces/: name, paper, corpora, and the last run's budget, status, verdict.

    `out_dir`: one report root (as given to `reproduce`); default: every budget under
    `$SEMIEMO_HOME/reproduce/`, the newest run of each analysis wins."""
    roots = [Path(out_dir)] if out_dir else [reproduce_root(b) for b in ("quick", "full", "paper")]
    rows = []
    for path in sorted(search_spaces_dir().glob("*.yaml")):
        try:
            spec = load_spec(path)
        except Exception as e:  # a broken file is listed with its error, not hidden
            rows.append({"name": path.stem, "paper": "", "status": f"invalid: {str(e).splitlines()[0]}",
                         "variants": "", "budget": "", "outcome": "", "verdict": "", "finished": ""})
            continue
        runs = []
        for root in roots:
            for folder in sorted(root.glob(f"{spec.name}*")):
                if folder.name != spec.name and not folder.name.startswith(f"{spec.name}__"):
                    continue
                st = read_status(folder)
                if st is None and (folder / REPORT).is_file():   # a report from before status.json
                    st = {"status": "done", "budget": root.name, "outcome": "", "verdict": "", "finished": ""}
                if st is not None:
                    runs.append({**st, "_folder": folder.name})
        last = max(runs, key=lambda r: r.get("finished") or "") if runs else None
        rows.append({"name": spec.name, "paper": spec.paper, "variants": ", ".join([str(spec.base_config().corpus).split(":", 1)[0], *spec.variants]),
                     "status": "not run" if last is None else
                     (f"{last.get('status', 'done')}: {last['_folder']}" if last["_folder"] != spec.name
                      else str(last.get("status", "done"))),
                     "budget": "" if last is None else str(last.get("budget", "")),
                     "outcome": "" if last is None else str(last.get("outcome", "")),
                     "verdict": "" if last is None else str(last.get("verdict", "") or last.get("why", "")),
                     "finished": "" if last is None else str(last.get("finished", ""))})
    return pd.DataFrame(rows, columns=["name", "paper", "status", "variants", "budget", "outcome", "verdict", "finished"])
