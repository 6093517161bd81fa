"""The classic peer: a support-vector machine on standardized utterance-level functionals.

What a practitioner would pick instead of a neural semi-supervised method (e.g. SVC on IS10/eGeMAPS).
It is not gradient-trained, so it is not a `Method`: the experiment runner fits it in closed form on
the labeled training rows (`fit`), predicts validation and test rows (`predict`), and records the same
metrics in the same results table. Sequence groups are pooled by the models' rule
(`semiemo.models.fusion.pool_group_numpy`) and groups are concatenated (early fusion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from semiemo.methods.registry import register
from semiemo.models.fusion import pool_group_numpy


@dataclass
class SVMHParams:
    C: float = field(default=1.0, metadata={"doc": "C: soft-margin penalty (sklearn SVC default)"})
    kernel: str = field(default="rbf", metadata={"doc": "kernel: rbf | linear | poly | sigmoid"})
    gamma: str | float = field(default="scale", metadata={"doc": "γ of the RBF kernel; 'scale' = 1/(d·Var[x])"})
    class_weight: str | None = field(default="balanced", metadata={"doc": "'balanced' weights classes by 1/frequency (suits UA)"})


def functionals(inputs: dict[str, np.ndarray], lengths: dict[str, np.ndarray] | None = None,
                layout: dict[str, dict[str, Any]] | None = None) -> np.ndarray:
    """[N, D]: every group pooled to a vector, groups concatenated in sorted-name order.

    `layout` maps a group to `{"pad_side": ..., "channel_axis": ...}` where they are not the defaults."""
    lengths, layout = lengths or {}, layout or {}
    return np.concatenate([pool_group_numpy(inputs[g], lengths.get(g), **layout.get(g, {})) for g in sorted(inputs)],
                          axis=1)


@register
class SVMBaseline:
    name: ClassVar[str] = "svm"
    HParams: ClassVar[type] = SVMHParams
    consumes_unlabeled: ClassVar[bool] = False
    closed_form: ClassVar[bool] = True  # fitted by `fit`, not by the gradient trainer

    def __init__(self, hparams: SVMHParams, seed: int = 0) -> None:
        self.hp = hparams
        self.pipeline = Pipeline([
            ("standardize", StandardScaler()),
            ("svc", SVC(C=hparams.C, kernel=hparams.kernel, gamma=hparams.gamma,
                        class_weight=hparams.class_weight, random_state=seed)),
        ])

    def fit(self, inputs: dict[str, np.ndarray], labels: np.ndarray, lengths: dict[str, np.ndarray] | None = None,
            layout: dict[str, dict[str, Any]] | None = None) -> "SVMBaseline":
        labels = np.asarray(labels)
        if (labels < 0).any():
            raise ValueError("svm.fit got rows without a label (-1); pass labeled training rows only")
        self.layout = dict(layout or {})
        self.pipeline.fit(functionals(inputs, lengths, self.layout), labels)
        return self

    def predict(self, inputs: dict[str, np.ndarray], lengths: dict[str, np.ndarray] | None = None) -> np.ndarray:
        return self.pipeline.predict(functionals(inputs, lengths, getattr(self, "layout", {}))).astype(np.int64)
