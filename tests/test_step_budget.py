"""Budgets in optimizer steps (issue 23 item 1): the default epoch length follows the pool, not the
labeled count; selection never picks a checkpoint from inside a ramp-up; every run reports the budget
and unlabeled-term columns by name."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gaussian_featureset import gaussian_fold_data, gaussian_featureset
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
from semiemo.train.experiment import run_experiment
from semiemo.train.loop import fit_fold
from semiemo.train.run_columns import COLUMNS
from semiemo.train.streams import Split


def _fold(labeled: int, pool: int = 600):
    data = gaussian_fold_data(separation=2.0, unlabeled=pool, seed=1)
    keep = np.arange(labeled)
    data.train = Split({k: v[keep] for k, v in data.train.inputs.items()}, {}, data.train.targets[keep])
    return data


def test_default_epoch_length_does_not_depend_on_the_labeled_count():
    cfg = TrainConfig(num_threads=1, epochs=1, batch_size=16)
    runs = [fit_fold(_fold(n), "fixmatch", {}, cfg, seed=0) for n in (20, 100)]
    assert runs[0].steps_per_epoch == runs[1].steps_per_epoch == math.ceil(600 / 16)   # one pass over the pool
    assert runs[0].steps_run == runs[1].steps_run == runs[0].total_steps


def test_without_a_pool_an_epoch_is_one_labeled_pass_and_an_explicit_budget_wins():
    cfg = TrainConfig(num_threads=1, epochs=1, batch_size=16)
    assert fit_fold(_fold(100, pool=0), "supervised", {}, cfg, seed=0).steps_per_epoch == math.ceil(100 / 16)
    fixed = cfg.model_copy(update={"steps_per_epoch": 5})
    assert fit_fold(_fold(20), "fixmatch", {}, fixed, seed=0).steps_per_epoch == 5


def test_selection_starts_after_the_ramp_up():
    cfg = TrainConfig(num_threads=1, epochs=4, batch_size=16, steps_per_epoch=3)
    result = fit_fold(_fold(100, pool=60), "pi_model", {"rampup_fraction": 0.5}, cfg, seed=0)
    assert result.run_columns["selection_start_epoch"] == 3          # the ramp-up takes epochs 1-2
    assert result.best_epoch >= 3 and result.run_columns["selected_epoch"] == result.best_epoch
    assert [h["val/best_epoch"] for h in result.history[:2]] == [0.0, 0.0]


def test_columns_measure_the_unlabeled_term_where_it_exists():
    cfg = TrainConfig(num_threads=1, epochs=2, batch_size=16, steps_per_epoch=3)
    fixmatch = fit_fold(_fold(100, pool=60), "fixmatch", {"threshold": 0.0}, cfg, seed=0).run_columns
    assert fixmatch["mask_rate_mean"] == pytest.approx(1.0) and fixmatch["mask_rate_last"] == pytest.approx(1.0)
    assert fixmatch["unlabeled_loss_active_share"] == 1.0 and fixmatch["unlabeled_loss_mean"] > 0
    assert 0 < fixmatch["unlabeled_term_share_mean"] < 1   # λ·L_U / (L_X + λ·L_U), fixmatch reports λ
    supervised = fit_fold(_fold(100, pool=0), "supervised", {}, cfg, seed=0).run_columns
    assert all(math.isnan(supervised[c]) for c in ("mask_rate_mean", "mask_rate_last", "unlabeled_loss_active_share",
                                                    "unlabeled_loss_mean", "unlabeled_term_share_mean"))
    pi = fit_fold(_fold(100, pool=60), "pi_model", {}, cfg, seed=0).run_columns   # no confidence threshold
    assert math.isnan(pi["mask_rate_mean"]) and not math.isnan(pi["unlabeled_loss_mean"])
    assert (fixmatch["total_steps"], fixmatch["steps_per_epoch"]) == (6, 3)


def test_results_table_carries_every_budget_column(tmp_path):
    cfg = ExperimentConfig(name="budget", method="fixmatch", features=["egemaps"], output_dir=str(tmp_path),
                           protocol=ProtocolConfig(name="loso", max_folds=1),
                           train=TrainConfig(num_threads=1, epochs=2, batch_size=16, steps_per_epoch=2))
    run_experiment(cfg, gaussian_featureset(n_per_class_speaker=4, unlabeled=40))
    stored = pd.read_parquet(tmp_path / "results.parquet")
    assert set(COLUMNS) <= set(stored.columns)
    assert stored["total_steps"].iloc[0] == 4 and stored["selection_start_epoch"].iloc[0] == 1


def test_a_ramp_up_longer_than_the_run_still_selects_the_last_epoch():
    cfg = TrainConfig(num_threads=1, epochs=2, batch_size=16, steps_per_epoch=2)
    result = fit_fold(_fold(100, pool=60), "pi_model", {"rampup_fraction": 1.0}, cfg, seed=0)
    assert result.run_columns["selection_start_epoch"] == 2 and result.best_epoch == 2


def test_term_share_is_the_weighted_unlabeled_loss_over_the_total_after_warm_up():
    from semiemo.train.run_columns import run_columns

    history = [{"epoch": 1, "train/sup_loss": 1.0, "train/unsup_loss": 5.0, "train/unsup_weight": 0.0},   # warm-up
               {"epoch": 2, "train/sup_loss": 1.0, "train/unsup_loss": 0.02, "train/unsup_weight": 0.01},
               {"epoch": 3, "train/mix_sup_loss": 0.5, "train/unsup_loss": 0.5, "train/unsup_weight": 1.0}]
    cols = run_columns(history, selected_epoch=3, selection_start_epoch=1, total_steps=3, steps_per_epoch=1,
                       thresholded_mask=False)
    assert cols["unlabeled_term_share_mean"] == pytest.approx((2e-4 / 1.0002 + 0.5) / 2)
    no_weight = [{k: v for k, v in h.items() if k != "train/unsup_weight"} for h in history]
    assert math.isnan(run_columns(no_weight, 3, 1, 3, 1, False)["unlabeled_term_share_mean"])
