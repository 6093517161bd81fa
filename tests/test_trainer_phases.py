"""Phases, pool coverage, per-rank seeds and step budgets in the trainer (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from pathlib import Path

from gaussian_featureset import gaussian_fold_data
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, fit_fold, rank_seed

ROOT = Path(__file__).resolve().parents[1]


def _fold_data(unlabeled: int = 0, seed: int = 0, separation: float = 3.0, identical_rows: bool = False) -> FoldData:
    return gaussian_fold_data(separation, unlabeled, seed, identical_rows)


def test_sae_is_never_stopped_or_selected_inside_its_pretraining():
    data = _fold_data(unlabeled=100)
    cfg = TrainConfig(epochs=9, batch_size=32, patience=1)
    result = fit_fold(data, "sae", {"pretrain_epochs": 5}, cfg, seed=0)
    assert result.best_epoch > 5                    # a pre-training state has an untrained head
    assert result.epochs_run > 5                    # patience counts from fine-tuning on
    assert result.test_metrics["ua"] > 0.5


def test_sae_with_no_fine_tuning_epoch_is_an_error_naming_the_fix():
    data = _fold_data(unlabeled=50)
    with pytest.raises(ValueError, match="pretrain_epochs"):
        fit_fold(data, "sae", {"pretrain_epochs": 5}, TrainConfig(epochs=5, batch_size=32), seed=0)


def test_ssbase_labels_the_pool_with_the_best_validation_fsbase_state():
    data = _fold_data(unlabeled=120, separation=1.5)
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-2, patience=2)
    result = fit_fold(data, "pseudo_label", {"warmup_epochs": 5, "threshold": 0.5}, cfg, seed=3)
    warm = result.history[:5]
    scores = [h["val/ua"] for h in warm]
    expected = int(np.argmax(scores)) + 1           # first epoch with the best warm-up validation UA
    assert warm[4]["train/warm_start_epoch"] == expected
    assert result.best_epoch > 5                    # selection counts only pseudo-labelled epochs
    assert "train/pseudo_label_rate" in warm[4]


def test_temporal_ensembling_has_targets_for_a_pool_larger_than_a_labeled_pass_draws():
    data = _fold_data(unlabeled=600)                # 600 pool rows vs 100 labeled rows, B = 32
    result = fit_fold(data, "temporal_ensembling", None, TrainConfig(epochs=2, batch_size=32), seed=0)
    assert result.history[0]["train/mask_rate"] == 0.0   # first epoch: no ensemble yet
    assert result.history[1]["train/mask_rate"] == 1.0   # an epoch is a pass over the pool: every row has one
    assert result.history[1]["train/ensemble_coverage"] == 1.0
    assert result.unlabeled_rows_drawn == 600


def test_runs_record_how_many_distinct_unlabeled_rows_they_drew():
    data = _fold_data(unlabeled=1000)
    result = fit_fold(data, "fixmatch", None, TrainConfig(epochs=2, batch_size=16, steps_per_epoch=5), seed=0)
    assert result.unlabeled_pool_size == 1000
    assert result.unlabeled_draws == 2 * 5 * 16     # μ = 1
    assert result.unlabeled_rows_drawn == 160       # one partial pass: no row twice


def test_every_ddp_rank_draws_its_own_augmentation_noise():
    assert rank_seed(0, 0) != rank_seed(0, 1)
    # both ranks see identical rows (every training row is the same utterance): only the RNG differs
    data = _fold_data(identical_rows=True)
    cfg = TrainConfig(epochs=1, batch_size=16, steps_per_epoch=3)
    losses = [fit_fold(data, "pi_model", {"noise_std": 0.5}, cfg, seed=0, rank=r, world_size=2).history[0]["train/loss"]
              for r in (0, 1)]
    assert losses[0] != losses[1]


def test_label_fraction_analysis_fixes_its_step_budget():
    spec = yaml.safe_load((ROOT / "search_spaces" / "label_fraction.yaml").read_text())
    assert spec["experiment"]["train"]["steps_per_epoch"] > 0


def test_run_summary_says_when_validation_is_not_speaker_independent():
    from gaussian_featureset import gaussian_featureset
    from semiemo.protocols import make_folds
    from semiemo.train.config import ProtocolConfig
    from semiemo.train.experiment import run_notes

    manifest = gaussian_featureset(n_per_class_speaker=4, speakers=4).manifest
    loso = make_folds(manifest, ProtocolConfig(name="loso"), seed=0)          # 3 training speakers: too few
    assert all(f.validation_group_independent is False for f in loso)
    many = gaussian_featureset(n_per_class_speaker=2, speakers=20).manifest
    assert all(f.validation_group_independent for f in make_folds(many, ProtocolConfig(name="loso", max_folds=2), seed=0))
    rows = [{"fold": f.name, "validation_speaker_independent": f.validation_group_independent} for f in loso]
    assert "NOT speaker-independent in 4 of 4" in run_notes(rows)[0]
