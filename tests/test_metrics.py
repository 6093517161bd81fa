"""Metrics agree with sklearn and with hand-computed numbers; fuzzy, pseudo-label and CI helpers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
)

from semiemo.train.metrics import (
    classification_metrics,
    fuzzy_accuracy,
    fuzzy_classification_metrics,
    mean_ci95,
    pseudo_label_accuracy,
)


def _fixed_inputs(num_classes: int = 4, n: int = 200):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, num_classes, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, num_classes, n))
    return y_true, y_pred


def test_metrics_agree_with_sklearn_on_fixed_inputs():
    y_true, y_pred = _fixed_inputs()
    m = classification_metrics(y_true, y_pred, num_classes=4)
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert m["wa"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert m["f1_weighted"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert m["wap"] == pytest.approx(precision_score(y_true, y_pred, average="weighted"))
    per_class = f1_score(y_true, y_pred, average=None)
    assert [m[f"f1_{c}"] for c in range(4)] == pytest.approx(per_class.tolist())
    assert m["confusion"] == confusion_matrix(y_true, y_pred).tolist()


def test_metrics_match_hand_computed_numbers_on_a_tiny_case():
    # truth 0 0 1 1, prediction 0 1 1 1: recalls 1/2 and 1; precisions 1 and 2/3; F1 2/3 and 4/5.
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2, class_names=["sad", "happy"])
    assert m["ua"] == pytest.approx(0.75)
    assert m["wa"] == pytest.approx(0.75)
    assert m["f1_sad"] == pytest.approx(2 / 3) and m["f1_happy"] == pytest.approx(0.8)
    assert m["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["f1_weighted"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["wap"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["confusion"] == [[1, 1], [0, 2]]
    assert m["n"] == 4


def test_confusion_and_per_class_keys_cover_every_class_even_when_absent():
    m = classification_metrics([0, 1, 1], [0, 1, 0], num_classes=4, class_names=["a", "b", "c", "d"])
    assert np.array(m["confusion"]).shape == (4, 4)
    assert {"f1_a", "f1_b", "f1_c", "f1_d"} <= set(m)
    assert m["f1_c"] == 0.0


def test_a_class_absent_from_the_truth_does_not_lower_ua():
    y_true, y_pred = [0, 0, 1, 1], [0, 2, 1, 1]  # class 2 only predicted, never true
    m = classification_metrics(y_true, y_pred, num_classes=3)
    assert m["ua"] == pytest.approx(0.75)
    with pytest.warns(UserWarning):  # sklearn warns about the predicted-only class, same value
        assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_a_label_outside_the_classes_is_an_error_that_mentions_unlabeled_rows():
    with pytest.raises(ValueError, match=r"y_true\[1\] = -1 .* unlabeled rows"):
        classification_metrics([0, -1], [0, 0], num_classes=2)


def test_fuzzy_accuracy_counts_either_tied_class_as_correct():
    dist = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 1 / 3, 2 / 3], [0.0, 1 / 3, 2 / 3]])
    assert fuzzy_accuracy([0, 1, 2, 1], dist) == pytest.approx(0.75)


def test_fuzzy_metrics_score_a_tied_prediction_as_a_hit():
    dist = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    m = fuzzy_classification_metrics([1, 2], dist, num_classes=3)
    assert m["wa"] == 1.0 and m["ua"] == 1.0


def test_pseudo_label_accuracy_counts_kept_rows_with_an_oracle_only():
    pseudo = [0, 1, 2, 2, 1]
    oracle = [0, 2, 2, -1, 1]
    mask = [True, True, True, True, False]
    assert pseudo_label_accuracy(pseudo, oracle, mask) == pytest.approx(2 / 3)
    assert pseudo_label_accuracy(pseudo, oracle) == pytest.approx(3 / 4)
    assert np.isnan(pseudo_label_accuracy(pseudo, oracle, [False] * 5))


def test_mean_ci95_uses_the_student_t_half_width():
    mean, half = mean_ci95([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(4.302652729911275 * 1.0 / np.sqrt(3))


def test_mean_ci95_of_one_value_has_no_half_width():
    mean, half = mean_ci95([0.7])
    assert mean == pytest.approx(0.7) and np.isnan(half)
