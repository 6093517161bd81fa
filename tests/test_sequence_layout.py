"""Head-padded sequences, side fields and categorical groups are read as what they are (issue 9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from semiemo.features.featureset import FeatureSet
from semiemo.features.sequence import pad_or_trim
from semiemo.methods import augment
from semiemo.models.fusion import pool_group
from semiemo.models.masking import valid_frames, valid_frames_numpy
from semiemo.normalization import fit_normalization
from semiemo.train.config import ExperimentConfig
from semiemo.train.experiment import fold_data, prepare_data
from semiemo.protocols import Fold


def _head_padded(n_rows: int = 6, real: int = 4, total: int = 10, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n_rows, total, d), np.float32)
    lengths = np.zeros(n_rows, np.int64)
    for i in range(n_rows):
        frames = rng.normal(5.0 + i, 2.0, size=(real, d)).astype(np.float32)
        x[i], lengths[i] = pad_or_trim(frames, total, pad_side="start")
    return x, lengths


def test_valid_frames_marks_the_tail_of_head_padded_rows():
    mask = valid_frames(torch.tensor([4, 10, 0]), 10, "start")
    assert mask[0].tolist() == [False] * 6 + [True] * 4
    assert mask[1].all() and not mask[2].any()
    assert np.array_equal(valid_frames_numpy(np.array([4, 10, 0]), 10, "start"), mask.numpy())


def test_head_padded_zscore_is_fitted_on_the_real_frames_only():
    x, lengths = _head_padded()
    real = x[:, 6:, :].reshape(-1, 3)
    norm = fit_normalization(x, np.arange(len(x)), None, "self", lengths, pad_side="start")
    assert np.allclose(norm.labeled.mean_, real.mean(axis=0), atol=1e-5)
    assert np.allclose(norm.labeled.scale_, real.std(axis=0), atol=1e-4)
    z = norm.transform_labeled(x, lengths)
    assert np.all(z[:, :6, :] == 0.0)                      # padding stays exactly zero
    assert np.abs(z[:, 6:, :]).sum() > 0                    # real frames kept (not wiped)
    assert np.allclose(z[:, 6:, :].reshape(-1, 3).mean(axis=0), 0.0, atol=1e-5)


def test_head_padded_mean_pool_averages_exactly_the_real_frames():
    x, lengths = _head_padded()
    pooled = pool_group(torch.from_numpy(x), torch.from_numpy(lengths), "start").numpy()
    assert np.allclose(pooled, x[:, 6:, :].mean(axis=1), atol=1e-5)
    wrong = pool_group(torch.from_numpy(x), torch.from_numpy(lengths), "end").numpy()
    assert not np.allclose(wrong, pooled)                   # the old assumption gives another answer


def test_time_masks_of_specaugment_fall_on_real_frames():
    torch.manual_seed(0)
    x = torch.ones(64, 10, 4)
    x[:, :6] = 0.0  # head padding
    lengths = torch.full((64,), 4)
    out = augment.time_mask(x, max_width=100, count=2, max_ratio=0.5, lengths=lengths, pad_side="start")
    masked = (out[:, 6:, 0] == 0)
    assert masked.any()                                     # masks happen, on real frames
    assert masked.sum(dim=1).max() <= 4                     # never more than 2 spans of ≤ 0.5·4 frames


def _featureset_with_side_fields(n: int = 40) -> FeatureSet:
    rng = np.random.default_rng(1)
    manifest = pd.DataFrame({
        "utt_id": [f"u{i}" for i in range(n)], "corpus": "t", "split_group": [f"s{i % 4}" for i in range(n)],
        "speaker": [f"s{i % 4}" for i in range(n)], "domain": "acted", "labeled": True,
        "label": ["anger" if i % 2 else "sadness" for i in range(n)],
    })
    social = np.zeros((n, 5), np.float32)
    social[np.arange(n), rng.integers(0, 5, n)] = 1.0
    avsp = rng.normal(size=(n, 3, 4, 2)).astype(np.float32)
    num_segments = rng.integers(1, 4, n)
    avsp[np.arange(3)[None, :] >= num_segments[:, None]] = 0.0
    return FeatureSet(manifest, {"social": social, "avsp": avsp}, lengths={"avsp": num_segments},
                      channel_axes={"avsp": -2}, unscaled=frozenset({"social"}),
                      side={"text_tokens.mask": np.ones((n, 5), bool)})


def test_one_hot_groups_are_not_zscored_and_side_fields_are_not_inputs():
    cfg = ExperimentConfig(features=["social", "avsp"])
    prep = prepare_data(cfg, _featureset_with_side_fields())
    idx = np.arange(40)
    fold = Fold("f", idx[:30], idx[30:35], idx[35:])
    data = fold_data(cfg, prep, idx[:30], fold, np.zeros(0, np.int64))
    assert set(data.train.inputs) == {"social", "avsp"}
    assert np.array_equal(data.train.inputs["social"], prep.features.groups["social"][:30])
    assert data.channel_axes == {"avsp": -2}
    # avsp z-scored per frequency bin (axis -2) over valid segments only; padded segments stay zero
    z = data.train.inputs["avsp"]
    valid = np.arange(3)[None, :] < data.train.lengths["avsp"][:, None]
    assert np.all(z[~valid] == 0.0)
    per_bin = z[valid].transpose(1, 0, 2).reshape(4, -1)
    assert np.allclose(per_bin.mean(axis=1), 0.0, atol=1e-5)
    assert np.allclose(per_bin.std(axis=1), 1.0, atol=1e-4)
