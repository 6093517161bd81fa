"""Fully supervised classifier: the DNN of paper 000, FSBase of paper 002 (MFSBase with several groups).

The algorithm box is one line: minimise the cross-entropy between the class distribution the network
predicts and the target distribution (one-hot for hard labels, the vote distribution for paper 002's
fuzzy labels). Unlabeled data is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.registry import register
from semiemo.models import build_classifier


@dataclass
class SupervisedHParams:
    label_smoothing: float = field(default=0.0, metadata={"doc": "ε mixed into targets: (1-ε)·y + ε/C; 0 in papers 000/002"})


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """mean_i −Σ_c y_ic log softmax(z_i)_c — cross-entropy against a target distribution."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


@register
class Supervised(Method):
    name = "supervised"
    HParams = SupervisedHParams
    consumes_unlabeled = False
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: SupervisedHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        self.model = build_classifier(spec)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        targets = labeled.targets
        if self.hp.label_smoothing > 0:
            targets = (1 - self.hp.label_smoothing) * targets + self.hp.label_smoothing / targets.shape[1]
        sup_loss = soft_cross_entropy(self.model(labeled.inputs, labeled.lengths), targets)
        return {"loss": sup_loss, "sup_loss": sup_loss.detach()}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
