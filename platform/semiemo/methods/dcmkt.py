"""DCMKT baselines of paper 003 (Albanie et al. 2018, "cross-modal transfer in the wild"), same M_θ.

DCMKT: train only on unlabeled audio with the visual pseudo-labels ỹᵛ (the FER teacher's labels,
§3.2), then test directly on the target test set (no affine re-mapping: the class sets match).
    L = (1/|Bᵁ|) Σ keep · CE(M_θ(ũᵃ), ỹᵛ)            (soft_targets: CE against p̃ᵛ)
DCMKT + fine-tuning: the same for `pretrain_epochs` epochs, then every layer is fine-tuned on the
labeled training set, L = CE(M_θ(x), y), with the same recipe. Model selection counts from the
fine-tuning phase (the plan's `selection_start_epoch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from semiemo.methods.base import Batch, ModelSpec, StepInfo
from semiemo.methods.cmkt import VisualSideInput, unlabeled_visual_probabilities
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import check_view
from semiemo.methods.ssl_math import soft_cross_entropy



@dataclass
class DCMKTHParams:
    pretrain_epochs: int | None = field(default=None, metadata={
        "doc": "epochs on visual pseudo-labels before fine-tuning on labeled data; None: all epochs (plain DCMKT, "
               "paper 003 Table 3 'DCMKT'); k: 'DCMKT + fine-tuning'"})
    soft_targets: bool = field(default=False, metadata={
        "doc": "train on p̃ᵛ instead of its argmax ỹᵛ (spec 003 §5.17; the paper's DCMKT uses hard labels)"})
    view: str = field(default="none", metadata={"doc": "augmentation of inputs in both phases: 'none', 'weak' or 'strong'"})
    weak_dropout: float = field(default=0.1, metadata={"doc": "dropout rate of the weak view"})
    visual_group: str = field(default="fer", metadata={"doc": "feature group of per-frame FER probabilities [K, 7]"})


@register
class DCMKT(VisualSideInput):
    name = "dcmkt"
    HParams = DCMKTHParams
    consumes_unlabeled = True
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: DCMKTHParams, num_unlabeled: int = 0) -> None:
        check_view("dcmkt", "view", hparams.view)
        if hparams.pretrain_epochs is not None and hparams.pretrain_epochs < 0:
            raise ValueError(f"dcmkt pretrain_epochs must be >= 0 or None, got {hparams.pretrain_epochs}")
        super().__init__(spec, hparams, num_unlabeled)

    def fine_tuning(self, epoch: int) -> bool:
        return self.hp.pretrain_epochs is not None and epoch >= self.hp.pretrain_epochs

    @classmethod
    def plan(cls, hp: DCMKTHParams) -> TrainingPlan:
        return replace(super().plan(hp), selection_start_epoch=int(hp.pretrain_epochs or 0))

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        if self.fine_tuning(info.epoch):
            sup_loss = soft_cross_entropy(self.model(self.view(self.hp.view, labeled.inputs, labeled.lengths), labeled.lengths),
                                          labeled.targets)
            return {"loss": sup_loss, "sup_loss": sup_loss.detach(), "phase": torch.tensor(1.0)}
        if unlabeled is None:
            raise ValueError("dcmkt trains on the unlabeled pool's visual pseudo-labels, but the fold has no unlabeled rows")
        visual_probs, keep = unlabeled_visual_probabilities(self, unlabeled)
        targets = visual_probs if self.hp.soft_targets else torch.nn.functional.one_hot(
            visual_probs.argmax(dim=1), visual_probs.shape[1]).float()
        logits = self.model(self.view(self.hp.view, unlabeled.inputs, unlabeled.lengths), unlabeled.lengths)
        per_row = -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1)
        transfer_loss = (keep.float() * per_row).mean()
        return {"loss": transfer_loss, "transfer_loss": transfer_loss.detach(), "phase": torch.tensor(0.0),
                "visual_keep_rate": keep.float().mean()}

    @torch.no_grad()
    def pseudo_label_diagnostics(self, unlabeled_predictions: torch.Tensor, pool: Batch) -> dict[str, torch.Tensor]:
        visual_probs, keep = unlabeled_visual_probabilities(self, pool)
        return {"audio": unlabeled_predictions.argmax(dim=1), "visual": torch.where(keep, visual_probs.argmax(dim=1), -1)}
