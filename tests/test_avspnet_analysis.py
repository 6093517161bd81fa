"""Paper 004's Table 3 analysis plumbing: segment-stack z-scoring per bin, the ordering verdict, the wild pool."""

from __future__ import annotations

import numpy as np
import pandas as pd

from semiemo.analysis.reproduce import series_order_verdict, shape_verdict
from semiemo.normalization import apply_zscore, fit_zscore
from semiemo.tune.space import ShapeClaim


def test_segment_stacks_are_z_scored_per_frequency_bin_over_valid_segments_only():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3, 4, 5)).astype(np.float32) * np.array([1, 2, 3, 4], np.float32)[None, None, :, None]
    x += np.array([10, 20, 30, 40], np.float32)[None, None, :, None]
    lengths = np.array([1, 2, 3, 3, 2, 1])
    for i, n in enumerate(lengths):
        x[i, n:] = 0.0  # padding segments must not enter the statistics
    scaler = fit_zscore(x, None, lengths, channel_axis=-2)  # avsp's channel axis: the bins
    assert np.allclose(scaler.mean_, [10, 20, 30, 40], atol=1.5)
    z = apply_zscore(scaler, x, lengths, channel_axis=-2)
    valid = np.concatenate([z[i, :n] for i, n in enumerate(lengths)])  # [n_seg, F, T]
    assert np.allclose(valid.mean(axis=(0, 2)), 0, atol=1e-4) and np.allclose(valid.std(axis=(0, 2)), 1, atol=1e-3)
    assert all(np.all(z[i, n:] == 0) for i, n in enumerate(lengths))


def _curve(means: dict[str, float]) -> pd.DataFrame:
    rows = [{"series": m, "x": f, "mean": v + 0.001 * k, "ci95": 0.0, "n": 2}
            for m, v in means.items() for k, f in enumerate([0.25, 0.5, 0.75, 1.0])]
    return pd.DataFrame(rows)


def _paper(means: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"method": m, "value": str(v)} for m, v in means.items()])


def test_series_order_reproduced_when_rankings_agree_and_not_when_reversed():
    paper = _paper({"AV-SpNET_a": 0.70, "R": 0.69, "W_a": 0.68, "AE": 0.65})
    same = series_order_verdict(_curve({"AV-SpNET_a": 0.61, "R": 0.60, "W_a": 0.58, "AE": 0.55}), paper)
    assert same.reproduced is True and "τ=+1.00" in same.line and "also ours" in same.line
    reversed_ = series_order_verdict(_curve({"AV-SpNET_a": 0.50, "R": 0.55, "W_a": 0.58, "AE": 0.61}), paper)
    assert reversed_.reproduced is False and "τ=-1.00" in reversed_.line


def test_series_order_is_not_tested_without_enough_shared_series():
    v = shape_verdict(_curve({"X": 0.5, "Y": 0.6}), ShapeClaim(kind="series_order"), "fraction",
                      _paper({"R": 0.6, "AE": 0.5}))
    assert v.reproduced is None and "NOT TESTED" in v.line


def test_wild_speakers_option_gives_few_speakers_and_leaves_the_default_corpus_unchanged():
    from semiemo.corpora import parse_synthetic_spec
    from semiemo.corpora.synthetic import SynthConfig

    assert "wild_speakers" not in SynthConfig().to_json()  # the default JSON (hence manifest hash) is unchanged
    cfg = parse_synthetic_spec("acted=0,wild_labeled=0,unlabeled=40,wild_speakers=4")
    assert cfg.domain("wild").n_speakers == 4 and cfg.wild.n_speakers == 3000
    assert SynthConfig.from_json(cfg.to_json()).wild_speakers == 4
