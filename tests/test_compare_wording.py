"""The comparison's sentences are worded by each Δ's CI, whatever its sign (issue 23, item 6)."""

from __future__ import annotations

import pandas as pd

from semiemo.analysis.compare import delta_sentences, summarize


def results(deltas: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for seed in range(3):
        rows.append({"method": "supervised", "seed": seed, "fold": "f0", "test_ua": 0.5, "test_wa": 0.5,
                     "test_f1_weighted": 0.5, "test_f1_macro": 0.5})
        for m, d in deltas.items():
            v = 0.5 + d[seed]
            rows.append({"method": m, "seed": seed, "fold": "f0", "test_ua": v, "test_wa": v,
                         "test_f1_weighted": v, "test_f1_macro": v})
    return pd.DataFrame(rows)


def test_each_method_is_worded_by_where_its_ci_lies():
    lines = delta_sentences(summarize(results({"fixmatch": [0.10, 0.11, 0.12], "pi_model": [-0.10, -0.11, -0.12],
                                               "mixmatch": [0.05, -0.05, 0.01]})))
    by = {line.split(":")[0]: line for line in lines}
    assert "beats supervised" in by["fixmatch"]
    assert "falls below supervised" in by["pi_model"]
    assert "no detectable difference" in by["mixmatch"]


def test_two_seeds_claim_nothing():
    two = results({"fixmatch": [0.1, 0.1, 0.1]})
    lines = delta_sentences(summarize(two[two["seed"] < 2]))
    assert len(lines) == 1 and "no claim either way" in lines[0]
