"""Evaluation metrics of the five papers, computed by sklearn so numbers match the usual definitions.

UA (= UAR, unweighted average recall: papers 000, 001, 002, 004) is the mean per-class recall over the
classes present in the ground truth — sklearn's `balanced_accuracy_score`: a class absent from a test
split (e.g. one gender's half of a session) has no recall and must not count as 0. WA is accuracy.
WAP (paper 001) is support-weighted precision. Macro F1 averages over classes present in truth or
prediction (sklearn's default). Per-class F1 and the confusion matrix always cover all
`num_classes` classes (`labels=range(num_classes)`), so result tables keep the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

from semiemo.labels import fuzzy_correct, resolve_fuzzy_truth


def _as_int(name: str, values: Iterable[int], num_classes: int) -> np.ndarray:
    a = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got shape {a.shape}")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= num_classes)
    if bad.any():
        raise ValueError(
            f"{name}[{int(np.flatnonzero(bad)[0])}] = {int(a[bad][0])} is not a class index in "
            f"[0, {num_classes}); unlabeled rows (-1) must be removed before evaluation"
        )
    return a


def classification_metrics(
    y_true: Iterable[int],
    y_pred: Iterable[int],
    num_classes: int,
    class_names: Sequence[str] | None = None,
) -> dict:
    """ua, wa, f1_weighted, f1_macro (sklearn's), wap, map (mean precision), f1_uar_map (paper 002's
    2·UAR·MAP/(UAR+MAP)), f1_<class> per class, confusion (list of lists), n."""
    t = _as_int("y_true", y_true, num_classes)
    p = _as_int("y_pred", y_pred, num_classes)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    if len(t) == 0:
        raise ValueError("cannot compute metrics on zero rows")
    names = [str(c) for c in (class_names if class_names is not None else range(num_classes))]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for {num_classes} classes")
    # Everything derives from one confusion matrix (cheap enough to run every epoch); the tests pin
    # each number to sklearn's own recall/f1/precision functions.
    cm = np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    support, predicted, hits = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm).astype(np.float64)
    recall = np.divide(hits, support, out=np.zeros(num_classes), where=support > 0)
    precision = np.divide(hits, predicted, out=np.zeros(num_classes), where=predicted > 0)
    denom = precision + recall
    per_class_f1 = np.divide(2 * precision * recall, denom, out=np.zeros(num_classes), where=denom > 0)
    weights = support / support.sum()
    in_truth, in_either = support > 0, (support > 0) | (predicted > 0)
    out = {
        "ua": float(recall[in_truth].mean()),
        "wa": float(hits.sum() / len(t)),
        "f1_weighted": float((per_class_f1 * weights).sum()),
        "f1_macro": float(per_class_f1[in_either].mean()),
        "wap": float((precision * weights).sum()),
        "map": float(precision[in_truth].mean()),
        "n": int(len(t)),
    }
    # Paper 002 eq. 8's "macro f1": the harmonic mean of UAR and MAP (mean recall and mean precision),
    # not sklearn's mean of per-class F1 (`f1_macro`); both are kept, named apart.
    ua_map = out["ua"] + out["map"]
    out["f1_uar_map"] = float(2 * out["ua"] * out["map"] / ua_map) if ua_map > 0 else 0.0
    for name, value in zip(names, per_class_f1):
        out[f"f1_{name}"] = float(value)
    out["confusion"] = cm.tolist()
    return out


def fuzzy_accuracy(y_pred: Iterable[int], votes_dist: np.ndarray) -> float:
    """Accuracy under paper 002's tie rule: a prediction of any tied top-voted class is correct."""
    return float(np.mean(fuzzy_correct(y_pred, votes_dist)))


def fuzzy_classification_metrics(
    y_pred: Iterable[int],
    votes_dist: np.ndarray,
    num_classes: int,
    class_names: Sequence[str] | None = None,
) -> dict:
    """All of `classification_metrics` against vote distributions, ties resolved in the prediction's favour."""
    p = np.asarray(list(y_pred) if not isinstance(y_pred, np.ndarray) else y_pred, dtype=np.int64)
    return classification_metrics(resolve_fuzzy_truth(p, votes_dist), p, num_classes, class_names)


def pseudo_label_accuracy(
    pseudo: Iterable[int], oracle: Iterable[int], mask: Iterable[bool] | None = None
) -> float:
    """Fraction of kept pseudo-labels (mask; all when None) that match the hidden oracle labels.

    Rows whose oracle is -1 (no hidden truth) are left out; NaN when no row is left to compare.
    """
    ps = _as_array(pseudo, np.int64)
    oc = _as_array(oracle, np.int64)
    keep = np.ones(len(ps), dtype=bool) if mask is None else _as_array(mask, bool)
    if not len(ps) == len(oc) == len(keep):
        raise ValueError(f"lengths differ: {len(ps)} pseudo-labels, {len(oc)} oracle labels, {len(keep)} mask")
    counted = keep & (oc >= 0)
    return float(np.mean(ps[counted] == oc[counted])) if counted.any() else float("nan")


def _as_array(values, dtype) -> np.ndarray:
    return np.asarray(values if isinstance(values, np.ndarray) else list(values)).astype(dtype)


def mean_ci95(values: Iterable[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t, n-1 dof) over seeds/folds.

    One value has no spread estimate: its half-width is NaN, not 0.
    """
    v = np.asarray(list(values), dtype=np.float64)
    if len(v) == 0:
        raise ValueError("mean_ci95 needs at least one value")
    mean = float(v.mean())
    if len(v) == 1:
        return mean, float("nan")
    sem = float(v.std(ddof=1) / np.sqrt(len(v)))
    return mean, float(stats.t.ppf(0.975, df=len(v) - 1) * sem)
