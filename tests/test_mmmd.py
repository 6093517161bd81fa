"""mmmd (paper 000): the curriculum's phases, its variants' identical batches, training in-process and under DDP."""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch

from semiemo.methods.base import ModelSpec, StepInfo
from semiemo.methods.mmmd import MMMD, MMMDHParams
from semiemo.methods.registry import get_method
from semiemo.protocols import make_folds
from semiemo.train.config import ProtocolConfig, TrainConfig
from semiemo.train.loop import FoldData, fit_fold, model_spec
from semiemo.train.phases import PhasedStreams
from semiemo.train.streams import Split, TensorPool

CLASSES = 4
TEXT_D = 3  # word_stats width per statistic


def synthetic_fold(n_acted=48, n_wild=40, n_unlabeled=96, seed=0) -> FoldData:
    """Acted rows: strong class offsets; wild rows: the same directions, weaker; text complements audio."""
    rng = np.random.default_rng(seed)
    audio_dirs, text_dirs = rng.normal(size=(CLASSES, 10)), rng.normal(size=(CLASSES, 14 * TEXT_D))

    def rows(n, strength, labeled=True):
        y = np.arange(n) % CLASSES
        audio = strength * audio_dirs[y] + rng.normal(size=(n, 10))
        text = strength * text_dirs[y] + rng.normal(size=(n, 14 * TEXT_D))
        social = np.zeros((n, 7 + 34), np.float32)
        social[np.arange(n), y % 7] = 1
        social[np.arange(n), 7 + rng.integers(0, 34, n)] = 1
        inputs = {"egemaps": audio.astype(np.float32), "word_stats": text.astype(np.float32), "social": social}
        return inputs, np.eye(CLASSES, dtype=np.float32)[y]

    a_in, a_t = rows(n_acted, 2.0)
    w_in, w_t = rows(n_wild, 1.0)
    v_in, v_t = rows(40, 1.0)
    u_in, _ = rows(n_unlabeled, 1.0)
    train = Split({k: np.concatenate([a_in[k], w_in[k]]) for k in a_in}, {}, np.concatenate([a_t, w_t]))
    domain = np.array(["acted"] * n_acted + ["wild"] * n_wild)
    return FoldData(train=train, val=Split(v_in, {}, v_t), test=Split(v_in, {}, v_t), unlabeled=Split(u_in),
                    class_names=[f"c{k}" for k in range(CLASSES)], train_columns={"domain": domain})


def _streams(data: FoldData, batch_size=16, seed=0, **hp) -> PhasedStreams:
    method = MMMD(model_spec(data), MMMDHParams(mcb_dim=64, **hp))
    return PhasedStreams(type(method).plan(method.hp).epoch, TensorPool(data.train), data.train_columns, TensorPool(data.unlabeled),
                         batch_size, 1, seed)


def test_epochwise_curriculum_runs_acted_then_wild_then_mixed_passes():
    data = synthetic_fold()
    steps = _streams(data).draw_epoch()
    names = [name for name, _, _ in steps]
    expected = ["acted"] * math.ceil(48 / 16) + ["wild"] * math.ceil(40 / 16) + ["mix"] * math.ceil(96 / 16)
    assert names == expected
    domain = data.train_columns["domain"]
    for name, rows, unl in steps:
        if name == "acted":
            assert set(domain[rows]) == {"acted"} and unl is None
        elif name == "wild":
            assert set(domain[rows]) == {"wild"} and unl is None
        else:
            assert unl is not None and len(unl) == 16 and len(rows) == 16
    mixed_domains = set(np.concatenate([domain[r] for n, r, _ in steps if n == "mix"]))
    assert mixed_domains == {"acted", "wild"}  # X = V_t^L ∪ V_e


def test_random_turn_runs_exactly_the_epochwise_batches_in_another_order():
    data = synthetic_fold()
    for epoch in range(2):
        if epoch == 0:
            ordered, shuffled = _streams(data), _streams(data, schedule="random_turn")
        a, b = ordered.draw_epoch(), shuffled.draw_epoch()
        key = lambda s: (s[0], tuple(s[1].tolist()), None if s[2] is None else tuple(s[2].tolist()))  # noqa: E731
        assert len(a) == len(b)
        assert Counter(map(key, a)) == Counter(map(key, b))
        assert [s[0] for s in a] != [s[0] for s in b]


def test_without_acted_data_the_acted_batches_are_gone_and_the_rest_keep_their_counts():
    data = synthetic_fold()
    full, no_acted = _streams(data), _streams(data, acted=False, schedule="random_turn")
    assert full.phase_steps() == {"acted": 3, "wild": 3, "mix": 6}
    assert no_acted.phase_steps() == {"wild": 3, "mix": 6}
    domain = data.train_columns["domain"]
    assert all(set(domain[rows]) == {"wild"} for _, rows, _ in no_acted.draw_epoch())


def test_registered_variants_differ_only_in_schedule_and_acted_defaults():
    w_avd, wo_avd = get_method("mmmd_w_avd").HParams(), get_method("mmmd_wo_avd").HParams()
    base = MMMDHParams()
    assert (w_avd.schedule, w_avd.acted) == ("random_turn", True)
    assert (wo_avd.schedule, wo_avd.acted) == ("random_turn", False)
    assert {k: v for k, v in vars(w_avd).items() if k != "schedule"} == {k: v for k, v in vars(base).items() if k != "schedule"}


def test_mixed_step_returns_every_loss_and_gradients_reach_every_head():
    data = synthetic_fold()
    method = MMMD(model_spec(data), MMMDHParams(mcb_dim=64))
    pool, unl = TensorPool(data.train), TensorPool(data.unlabeled)
    out = method.train_step(pool.batch(np.arange(16)), unl.batch(np.arange(16)), StepInfo(0, 0, 10, 1, phase="mix"))
    assert {"loss", "mix_sup_loss", "unsup_loss", "mixup_lambda"} <= set(out)
    out["loss"].backward()
    assert all(p.grad is not None for p in method.model.parameters())
    probs = torch.softmax(method.predict(pool.batch(np.arange(4)).inputs), -1)
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))


def test_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="schedule"):
        MMMDHParams(schedule="sometimes")
    with pytest.raises(ValueError, match="modalities"):
        MMMDHParams(modalities="acoustic+smell")


def test_mmmd_learns_the_synthetic_task_in_process():
    data = synthetic_fold()
    train = TrainConfig(epochs=6, batch_size=16, num_threads=1)
    result = fit_fold(data, "mmmd", {"mcb_dim": 256}, train, seed=0)
    history = result.history[-1]
    assert {"train/acted_loss", "train/wild_loss", "train/mix_sup_loss", "train/unsup_loss"} <= set(history)
    assert result.test_metrics["ua"] > 0.6  # chance 0.25


def test_mmd_trains_on_labeled_rows_only():
    data = synthetic_fold()
    result = fit_fold(data, "mmd", {"mcb_dim": 128}, TrainConfig(epochs=4, batch_size=16, num_threads=1), seed=0)
    assert result.test_metrics["ua"] > 0.6


def test_protocol_test_domains_keeps_acted_rows_in_every_training_fold():
    manifest = pd.DataFrame({
        "utt_id": [f"u{i}" for i in range(60)], "speaker": [f"s{i % 10}" for i in range(60)],
        "split_group": [f"s{i % 10}" for i in range(60)], "domain": ["acted"] * 20 + ["wild"] * 40,
        "labeled": True, "label": [["a", "b"][i % 2] for i in range(60)]})
    folds = make_folds(manifest, ProtocolConfig(name="kfold", folds=5, test_domains=["wild"]), seed=0)
    acted = set(range(20))
    for fold in folds:
        assert acted <= set(fold.train_idx.tolist())
        assert not acted & set(fold.test_idx.tolist()) and not acted & set(fold.val_idx.tolist())


@pytest.mark.slow
def test_mmmd_under_ray_train_ddp_with_two_workers(tmp_path):
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.train.distributed import DistributedFold, fit_fold_distributed

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    init_ray(num_cpus=2)
    try:
        data = synthetic_fold()
        train = TrainConfig(epochs=4, batch_size=16, num_threads=1)
        job = DistributedFold("mmmd", {"mcb_dim": 256}, train, model_spec(data), seed=0)
        result = fit_fold_distributed(data, job, run_name="mmmd-ddp2", storage_path=tmp_path, workers=2)
    finally:
        shutdown_ray()
    assert result.epochs_run == 4
    assert "train/acted_loss" in result.history[-1] and "train/unsup_loss" in result.history[-1]
    assert result.test_metrics["ua"] > 0.5
