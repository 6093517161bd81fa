"""Class-balancing an unlabeled pool by a pretrained classifier's predictions (paper 001, §4.1).

Paper 001 labels its 20,000 AMI clips with a "vanilla" classifier trained on the labeled data (about
80 % come out happy or neutral), then sub-samples the over-represented pseudo-classes and over-samples
the rare ones to 5,000 each. The pseudo-classes are used for this sampling only, never as targets.
Here: per fold, the vanilla model is trained on that fold's labeled training rows only (spec §5.13),
predicts the pool, and `balanced_indices` draws `per_class` rows of every predicted class.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from semiemo.train.config import TrainConfig, UnlabeledBalanceConfig
from semiemo.train.loop import fit_fold, predict_proba
from semiemo.train.streams import Split, TensorPool


def balanced_indices(predicted: np.ndarray, num_classes: int, per_class: int, seed: int = 0) -> np.ndarray:
    """Row indices giving `per_class` rows of each predicted class: classes with more rows are
    sub-sampled without replacement; classes with fewer keep every row once and draw the rest with
    replacement. A class nobody is predicted as cannot be filled (it stays empty). Sorted, seeded."""
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    predicted = np.asarray(predicted)
    rng = np.random.default_rng([seed, 1001])
    picks = []
    for c in range(num_classes):
        rows = np.flatnonzero(predicted == c)
        if len(rows) == 0:
            continue
        if len(rows) >= per_class:
            picks.append(rng.choice(rows, per_class, replace=False))
        else:
            picks.append(np.concatenate([rows, rng.choice(rows, per_class - len(rows), replace=True)]))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.int64)


def balance_unlabeled(data: Any, balance: UnlabeledBalanceConfig, train: TrainConfig, spec: Any,
                      seed: int) -> tuple[Any, dict[str, Any]]:
    """`data` (a FoldData) with its unlabeled split re-sampled to equal predicted class counts.

    Returns (new FoldData, info: pool size, predicted counts before and after)."""
    if data.unlabeled is None or len(data.unlabeled) == 0:
        return data, {}
    labeled_only = dataclasses.replace(data, unlabeled=None, unlabeled_oracle=None)
    vanilla_train = train.model_copy(update={"epochs": balance.epochs, "workers": 1, "patience": None})
    vanilla = fit_fold(labeled_only, balance.method, dict(balance.method_params), vanilla_train, spec, seed=seed,
                       return_method=True)
    proba = predict_proba(vanilla.method, TensorPool(data.unlabeled, next(vanilla.method.parameters()).device))
    predicted = proba.argmax(dim=1).cpu().numpy()
    per_class = balance.per_class or max(1, len(predicted) // data.num_classes)
    rows = balanced_indices(predicted, data.num_classes, per_class, seed)
    u = data.unlabeled
    new_unlabeled = Split({k: v[rows] for k, v in u.inputs.items()}, {k: v[rows] for k, v in u.lengths.items()}, None)
    oracle = None if data.unlabeled_oracle is None else np.asarray(data.unlabeled_oracle)[rows]
    info = {"pool": int(len(predicted)),
            "predicted_counts": np.bincount(predicted, minlength=data.num_classes).tolist(),
            "balanced_counts": np.bincount(predicted[rows], minlength=data.num_classes).tolist()}
    return dataclasses.replace(data, unlabeled=new_unlabeled, unlabeled_oracle=oracle), info
