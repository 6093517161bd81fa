"""The `recovers_gap` claim of an arms analysis: an SSL arm recovers at least a share of the label gap.

An analysis such as `ssl_real_speech` runs supervised arms at a few label fractions (10 %, 20 %, 100 %)
and SSL arms at the scarce fractions. Each SSL arm is compared with the supervised arm at its own label
fraction and with the supervised arm at 100 %: per seed (folds averaged), share = (SSL − sup@p) /
(sup@100 − sup@p) — `analysis.label_gap.gap_share`, so the numbers here are the ones `label_gap`
prints. The claim holds when the judged arm's mean share reaches the threshold AND its 95 % CI over
≥ `min_seeds` seeds lies above 0; a CI above 0 with a smaller mean is *partly* reproduced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from semiemo.analysis.label_gap import BASELINE, gap_share
from semiemo.analysis.spread import Spread, over_seeds


def _fraction(rows: pd.DataFrame) -> float:
    values = pd.to_numeric(rows["label_fraction"], errors="coerce").dropna().unique()
    if len(values) != 1:
        raise ValueError(f"arm rows hold {len(values)} label fractions ({sorted(values)}); an arm has one")
    return float(values[0])


def arm_shares(table: pd.DataFrame, x: str, metric: str, full_arm: str) -> list[dict[str, Any]]:
    """Per non-supervised arm: its label fraction, the supervised arm it is paired with, the share of the gap
    (Spread over seeds) and its per-seed table. Arms with no supervised arm at their fraction are skipped."""
    done = table[table["status"] == "TERMINATED"] if "status" in table.columns else table
    if done.empty or x not in done.columns:
        return []
    arms = {str(a): g for a, g in done.groupby(done[x].astype(str), sort=False)}
    if full_arm not in arms:
        return []
    top = _fraction(arms[full_arm])
    if not np.isclose(top, 1.0):
        raise ValueError(f"recovers_gap: the `high` arm {full_arm!r} runs at {top:.0%} labels; the top of the label gap "
                         "is supervised at 100 % (label_fraction: 1.0): point `high` at that arm")
    supervised = {a: _fraction(g) for a, g in arms.items() if (g["method"].astype(str) == BASELINE).all()}
    out = []
    for arm, rows in arms.items():
        if arm in supervised:
            continue
        p = _fraction(rows)
        partner = next((a for a, f in supervised.items() if np.isclose(f, p) and a != full_arm), None)
        if partner is None:
            continue
        frame = pd.concat([rows.assign(method=arm), arms[partner].assign(method=BASELINE),
                           arms[full_arm].assign(method=BASELINE, label_fraction=1.0)])
        share, per_seed = gap_share(frame, arm, p, 1.0, metric)
        out.append({"arm": arm, "fraction": p, "partner": partner, "share": share, "per_seed": per_seed,
                    "view_source": ",".join(sorted(rows["view_source"].astype(str).unique())) if "view_source" in rows else "",
                    "method_name": ",".join(sorted(rows["method"].astype(str).unique()))})
    return out


def gap_lines(shares: list[dict[str, Any]], full_arm: str, metric: str) -> list[str]:
    """The report's table: every SSL arm against supervised at its fraction and at 100 %."""
    lines = ["", f"## Share of the label gap recovered ({metric}; per seed, folds averaged; 95 % CI over seeds)", "",
             f"| arm | method | views | labels | supervised @ p | supervised @ 100 % ({full_arm}) | arm @ p | "
             "Δ (paired) | share of gap |", "|---|---|---|---|---|---|---|---|---|"]
    for s in shares:
        t = s["per_seed"]
        cell = lambda col: over_seeds(t[col], t["seed"]).cell(digits=4)  # noqa: E731
        lines.append(f"| {s['arm']} | {s['method_name']} | {s['view_source']} | {s['fraction']:.0%} | {cell('supervised_low')} | "
                     f"{cell('supervised_full')} | {cell('ssl_low')} | {over_seeds(t['gain'], t['seed']).cell(digits=4, signed=True)} | "
                     f"{s['share'].cell(digits=3, signed=True)} |")
    undefined = [f"{s['arm']} seed {int(r.seed)}" for s in shares for r in s["per_seed"].itertuples() if not r.gap > 0]
    if undefined:
        lines += ["", f"No gap (supervised @ 100 % ≤ supervised @ p) on: {', '.join(undefined)} — their share is undefined."]
    return lines


def judge(share: Spread, threshold: float, min_seeds: int) -> tuple[bool | None, bool, str]:
    """(reproduced, partly, words) for the judged arm's share of the gap."""
    if share.kind != "ci95" or share.n < min_seeds:
        return None, False, f"fewer than {min_seeds} seeds with a defined gap ({share.n}): no CI to test"
    above_zero = share.low > 0
    ok = above_zero and share.mean >= threshold
    words = (f"share {share.cell(digits=3, signed=True)} over {share.n} seeds; the claim needs a mean ≥ {threshold:.0%} "
             f"and a CI above 0")
    return ok, (not ok and above_zero), words
