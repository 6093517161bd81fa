"""How much a score varies between independent runs: a 95 % CI over seeds, or a plain range when too few.

Folds of one seed recombine the same data, so they are not independent samples: each seed's folds are
averaged first and the seed means are the sample (n = seeds). A Student-t interval from fewer than
`MIN_CI_RUNS` samples is noise (two runs: t₀.₉₇₅ = 12.7 times the standard error), so below that the
spread is the range (min–max) of the seed means, or with one seed the range over its folds, and the
text says so. Every spread carries its n and a sentence that names what it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MIN_CI_RUNS = 3  # fewer independent runs than this: a range, not a CI
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Spread:
    """Mean with a 95 % CI over seeds (`kind="ci95"`), a range (`"range"`) or nothing (`"single"`)."""

    mean: float
    low: float
    high: float
    n: int        # independent samples: seeds; for a one-seed range, the folds of that seed
    unit: str     # "seed" | "fold"
    kind: str     # "ci95" | "range" | "single" | "none" (no values)

    @property
    def half_width(self) -> float:
        """The CI's half-width; NaN unless this is a CI."""
        return (self.high - self.low) / 2 if self.kind == "ci95" else float("nan")

    def cell(self, digits: int = 3, signed: bool = False) -> str:
        """"0.560 ± 0.012" (CI), "0.560 [0.540, 0.580]" (range: min, max), "0.560" (one run), "–" (none)."""
        if self.kind == "none":
            return "–"
        fmt = f"{{:{'+' if signed else ''}.{digits}f}}"
        value = fmt.format(self.mean)
        if self.kind == "ci95":
            return f"{value} ± {self.half_width:.{digits}f}"
        if self.kind == "range":
            return f"{value} [{fmt.format(self.low)}, {fmt.format(self.high)}]"
        return value

    def describe(self) -> str:
        """What the numbers are, with n: goes in a table's header or caption."""
        return describe(self.kind, self.n, self.unit)


def describe(kind: str, n: int, unit: str = "seed") -> str:
    if kind == "ci95":
        return f"mean ± 95 % CI (Student t) over n={n} seeds (each seed: the mean of its folds)"
    if kind == "range" and unit == "seed":
        return (f"mean [min, max] over n={n} seeds (each seed: the mean of its folds); "
                f"fewer than {MIN_CI_RUNS} seeds: no CI")
    if kind == "range":
        return f"n=1 seed: mean [range over its {n} folds]; folds of one seed are not independent: no CI"
    if kind == "single":
        return "one run: no spread"
    return "no values"


def short(kind: str, n: int, unit: str = "seed") -> str:
    """A few words for an axis label: "95 % CI, n=3 seeds", "min–max of n=2 seeds (no CI)", ..."""
    if kind == "ci95":
        return f"95 % CI, n={n} seeds"
    if kind == "range" and unit == "seed":
        return f"min–max of n={n} seeds (no CI)"
    if kind == "range":
        return f"range over {n} folds of 1 seed (no CI)"
    return "one run (no spread)" if kind == "single" else "no values"


def over_seeds(values, seeds) -> Spread:
    """Spread of `values` (one per run) whose runs belong to `seeds` (same length): folds averaged per seed."""
    df = pd.DataFrame({"value": np.asarray(values, dtype=float), "seed": np.asarray(seeds)}).dropna(subset=["value"])
    if df.empty:
        nan = float("nan")
        return Spread(nan, nan, nan, 0, "seed", "none")
    seed_means = df.groupby("seed", sort=False)["value"].mean().to_numpy()
    mean = float(seed_means.mean())
    n = len(seed_means)
    if n >= MIN_CI_RUNS:
        sem = float(stats.sem(seed_means))
        if sem == 0.0:  # identical seeds: a zero-width interval (scipy returns NaN for scale 0)
            return Spread(mean, mean, mean, n, "seed", "ci95")
        low, high = stats.t.interval(CI_LEVEL, df=n - 1, loc=mean, scale=sem)
        return Spread(mean, float(low), float(high), n, "seed", "ci95")
    if n == 2:
        return Spread(mean, float(seed_means.min()), float(seed_means.max()), n, "seed", "range")
    folds = df["value"].to_numpy()
    if len(folds) > 1:
        return Spread(mean, float(folds.min()), float(folds.max()), len(folds), "fold", "range")
    return Spread(mean, mean, mean, 1, "seed", "single")


def paired_over_seeds(values: pd.Series, baseline: pd.Series) -> Spread:
    """Spread of the paired difference `values − baseline`; both indexed by (seed, fold)."""
    diff = (values - baseline).dropna()
    return over_seeds(diff.to_numpy(), diff.index.get_level_values("seed"))


def short_caption(spreads: list[Spread]) -> str:
    """`short` for a set of spreads when all alike, else a pointer to the table."""
    kinds = {(s.kind, s.n, s.unit) for s in spreads if s.kind != "none"}
    return short(*next(iter(kinds))) if len(kinds) == 1 else "95 % CI over seeds (≥ 3 seeds) or min–max; see the table"


def caption(spreads: list[Spread]) -> str:
    """One sentence for a column or table of spreads: theirs if all alike, else the rule and where n is."""
    kinds = {(s.kind, s.n, s.unit) for s in spreads if s.kind != "none"}
    if len(kinds) == 1:
        return describe(*next(iter(kinds)))
    return (f"mean over seeds (each seed: the mean of its folds); ± 95 % CI (Student t) where a row has "
            f"≥ {MIN_CI_RUNS} seeds, else [min, max] — over seeds, or over folds when there is one seed; "
            "n per row in the seeds × folds column")
