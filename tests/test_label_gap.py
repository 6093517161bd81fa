"""Share of the label gap recovered (issue 26, the ssl_real_speech table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from semiemo.analysis.label_gap import gap_share, gap_table


def _results(ssl_gain: list[float], gap: float = 0.10) -> pd.DataFrame:
    rows = []
    for seed, gain in enumerate(ssl_gain):
        for fold, jitter in (("f0", -0.01), ("f1", 0.01)):
            low = 0.50 + 0.01 * seed + jitter
            rows += [{"method": "supervised", "label_fraction": 0.1, "seed": seed, "fold": fold, "test_ua": low},
                     {"method": "supervised", "label_fraction": 1.0, "seed": seed, "fold": fold, "test_ua": low + gap},
                     {"method": "fixmatch", "label_fraction": 0.1, "seed": seed, "fold": fold, "test_ua": low + gain}]
    return pd.DataFrame(rows)


def test_share_is_the_paired_gain_over_the_gap_per_seed():
    share, table = gap_share(_results([0.03, 0.04, 0.05]), "fixmatch", 0.1)
    assert table["share"].to_numpy() == pytest.approx([0.3, 0.4, 0.5])
    assert share.mean == pytest.approx(0.4) and share.kind == "ci95" and share.low > 0


def test_no_gain_gives_a_share_whose_interval_holds_zero():
    share, _ = gap_share(_results([0.01, -0.01, 0.0]), "fixmatch", 0.1)
    assert share.low < 0 < share.high


def test_a_seed_without_a_gap_has_no_share_instead_of_a_huge_one():
    _, table = gap_share(_results([0.01, 0.02, 0.0], gap=0.0), "fixmatch", 0.1)
    assert np.isnan(table["share"]).all()


def test_the_table_prints_one_row_per_fraction_and_method():
    text = gap_table(_results([0.03, 0.04, 0.05]), ["fixmatch"], [0.1])
    assert "| 10% | fixmatch |" in text and "+0.400 ±" in text
