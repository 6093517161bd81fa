"""The SVM peer runs in the same harness as the neural methods and fills the same results columns."""

from __future__ import annotations

import numpy as np
import pytest

from gaussian_featureset import gaussian_featureset
from semiemo.methods.registry import get_method
from semiemo.methods.svm import SVMBaseline, SVMHParams
from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
from semiemo.train.experiment import run_experiment


def _cfg(method: str, out) -> ExperimentConfig:
    return ExperimentConfig(name=f"svm-test-{method}", method=method, features=["egemaps", "text"], output_dir=str(out),
                            protocol=ProtocolConfig(name="loso", max_folds=2),
                            train=TrainConfig(epochs=2, batch_size=16, num_threads=1))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    data = gaussian_featureset(n_per_class_speaker=8, text_dim=5)
    return {m: run_experiment(_cfg(m, tmp_path_factory.mktemp(m)), data) for m in ("svm", "supervised")}


def test_svm_is_found_by_name():
    assert get_method("svm") is SVMBaseline


def test_svm_beats_chance_leaving_speakers_out(both):
    assert (both["svm"]["test_ua"] > 0.6).all()  # 4 classes: chance 0.25


def test_svm_fills_the_same_metric_columns_as_the_neural_baseline(both):
    metric_columns = lambda df: {c for c in df.columns if c.startswith(("test_", "val_"))}  # noqa: E731
    assert metric_columns(both["svm"]) == metric_columns(both["supervised"])
    assert list(both["svm"]["fold"]) == list(both["supervised"]["fold"])


def test_svm_rejects_unlabeled_rows_with_a_clear_error():
    x = {"g": np.zeros((4, 2), np.float32)}
    with pytest.raises(ValueError, match="labeled training rows only"):
        SVMBaseline(SVMHParams()).fit(x, np.array([0, 1, -1, 0]))


def test_misspelled_svm_hyperparameter_names_the_allowed_ones(tmp_path):
    cfg = _cfg("svm", tmp_path)
    cfg.method_params = {"c": 2.0}
    with pytest.raises(ValueError, match="allowed"):
        run_experiment(cfg, gaussian_featureset(n_per_class_speaker=3, text_dim=5))
