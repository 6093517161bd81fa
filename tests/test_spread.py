"""Spreads over independent runs: a 95 % CI over seeds (each seed's fold mean) from 3 seeds on, a range
below that, and always the n and what the numbers are."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from semiemo.analysis.spread import over_seeds, paired_over_seeds


def test_ci_is_a_t_interval_over_the_seed_fold_means_not_over_seeds_times_folds():
    seeds = np.repeat([0, 1, 2], 4)
    folds = np.tile([0.2, 0.8, 0.3, 0.7], 3)               # folds differ a lot within a seed ...
    values = folds + np.repeat([0.00, 0.01, 0.02], 4)      # ... seed means differ little
    spread = over_seeds(values, seeds)
    seed_means = np.array([0.5, 0.51, 0.52])
    low, high = stats.t.interval(0.95, df=2, loc=seed_means.mean(), scale=stats.sem(seed_means))
    assert spread.kind == "ci95" and spread.n == 3 and spread.unit == "seed"
    assert (spread.low, spread.high) == pytest.approx((low, high))
    naive = stats.t.interval(0.95, df=11, loc=values.mean(), scale=stats.sem(values))
    assert spread.half_width != pytest.approx((naive[1] - naive[0]) / 2)
    assert "n=3 seeds" in spread.describe() and "95 % CI" in spread.describe()


def test_two_seeds_give_the_range_of_their_fold_means_and_no_ci():
    spread = over_seeds([0.4, 0.6, 0.7, 0.9], [0, 0, 1, 1])
    assert spread.kind == "range" and spread.n == 2
    assert (spread.mean, spread.low, spread.high) == pytest.approx((0.65, 0.5, 0.8))
    assert np.isnan(spread.half_width)
    assert spread.cell() == "0.650 [0.500, 0.800]" and "±" not in spread.cell()
    assert "n=2 seeds" in spread.describe() and "no CI" in spread.describe()


def test_one_seed_with_several_folds_says_range_over_folds():
    spread = over_seeds([0.42, 0.81], [0, 0])  # the demo's case: 1 seed × 2 folds
    assert spread.kind == "range" and spread.unit == "fold" and spread.n == 2
    assert "n=1 seed" in spread.describe() and "range over" in spread.describe()
    assert "±" not in spread.cell()


def test_one_run_has_no_spread_and_no_values_have_none():
    assert over_seeds([0.7], [0]).cell() == "0.700"
    assert over_seeds([np.nan, np.nan], [0, 1]).cell() == "–"


def test_paired_difference_is_averaged_per_seed_then_spread_over_seeds():
    index = pd.MultiIndex.from_product([[0, 1, 2], ["f0", "f1"]], names=["seed", "fold"])
    base = pd.Series([0.5, 0.6, 0.5, 0.6, 0.5, 0.6], index=index)
    method = base + pd.Series([0.0, 0.2, 0.1, 0.1, 0.05, 0.15], index=index)  # every seed's mean Δ is 0.1
    spread = paired_over_seeds(method, base)
    assert spread.kind == "ci95" and spread.n == 3
    assert (spread.mean, spread.half_width) == pytest.approx((0.1, 0.0), abs=1e-12)
