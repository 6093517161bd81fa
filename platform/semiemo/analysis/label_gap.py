"""Share of the label gap an SSL method recovers: (SSL at p % − supervised at p %) / (supervised at 100 % −
supervised at p %), per seed, with a 95 % CI over seeds.

The gap is the UA that more labels would buy; a method that recovers 30 % of it turns unlabeled speech into
a third of the missing labels' worth. Per seed s (folds averaged first, as everywhere in `analysis.spread`):
gap_s = UA_sup,100(s) − UA_sup,p(s) and share_s = (UA_ssl,p(s) − UA_sup,p(s)) / gap_s; the seeds' shares
give the mean and CI. A gap ≤ 0 on some seed leaves that seed's share undefined (reported, not dropped
silently). Rows come from `compare` results (results.csv): `method`, `label_fraction`, `seed`, `fold`, `test_ua`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from semiemo.analysis.spread import Spread, over_seeds

BASELINE = "supervised"


def seed_means(results: pd.DataFrame, method: str, fraction: float, metric: str = "test_ua") -> pd.Series:
    rows = results[(results["method"] == method) & np.isclose(results["label_fraction"].astype(float), fraction)]
    return rows.groupby("seed")[metric].mean()


def gap_share(results: pd.DataFrame, method: str, fraction: float, full: float = 1.0,
              metric: str = "test_ua") -> tuple[Spread, pd.DataFrame]:
    """(spread over seeds of the share of the gap recovered, per-seed table)."""
    low = seed_means(results, BASELINE, fraction, metric)
    high = seed_means(results, BASELINE, full, metric)
    ssl = seed_means(results, method, fraction, metric)
    seeds = sorted(set(low.index) & set(high.index) & set(ssl.index))
    table = pd.DataFrame({"seed": seeds, "supervised_low": low.reindex(seeds).to_numpy(),
                          "supervised_full": high.reindex(seeds).to_numpy(), "ssl_low": ssl.reindex(seeds).to_numpy()})
    table["gap"] = table["supervised_full"] - table["supervised_low"]
    table["gain"] = table["ssl_low"] - table["supervised_low"]
    table["share"] = np.where(table["gap"] > 0, table["gain"] / table["gap"].where(table["gap"] > 0), np.nan)
    return over_seeds(table["share"], table["seed"]), table


def gap_table(results: pd.DataFrame, methods: Sequence[str], fractions: Sequence[float], full: float = 1.0) -> str:
    """Markdown: per (fraction, method) supervised at p and 100 %, the method at p, Δ, share of the gap."""
    lines = ["| labels | method | supervised @ p | supervised @ 100 % | method @ p | Δ UA (paired) | share of gap |",
             "|---|---|---|---|---|---|---|"]
    for p in fractions:
        for m in methods:
            share, table = gap_share(results, m, p, full)
            if table.empty:
                continue
            cell = lambda col: over_seeds(table[col], table["seed"]).cell()  # noqa: E731
            lines.append(f"| {p:.0%} | {m} | {cell('supervised_low')} | {cell('supervised_full')} | {cell('ssl_low')} | "
                         f"{over_seeds(table['gain'], table['seed']).cell(signed=True)} | {share.cell(signed=True)} |")
    return "\n".join(lines)
