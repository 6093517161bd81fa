"""Pseudo-labelling: paper 002's SSBase (offline) and Lee (2013)'s online variant.

Offline (SSBase, paper 002 §IV): train the fully supervised model (FSBase) for `warmup_epochs`; at
the end of the warm-up the trainer restores the best-validation FSBase state of those epochs (the
paper's "pre-trained FSBase") and passes `on_epoch_end` the pool's softmax probabilities under it;
rows whose top probability exceeds the threshold join training with their hard label, and the model
is fine-tuned on labeled + confidently pseudo-labeled rows. Checkpoint selection and early stopping
count only fine-tuning epochs:
  L = CE(f(x_l), y) + w · (1/|B^U|) Σ 1{max p̂ > τ} CE(f(u), argmax p̂)    (p̂ fixed after warm-up)
Online (`online=True`): p̂ = the current network's own prediction for u at every step, w ramped up
linearly from 0 (Lee 2013's α(t)).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from semiemo import models
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import confidence_mask, linear_rampup, soft_cross_entropy, training_progress


@dataclass
class PseudoLabelHParams:
    threshold: float = field(default=0.9, metadata={
        "doc": "τ, confidence a pseudo-label needs (paper 002: 'high classification confidence', no value; paper 003's τ = 0.9)"})
    unsup_weight: float = field(default=1.0, metadata={
        "doc": "w, weight of pseudo-labeled rows; 1 = they join training like labeled rows (paper 002)"})
    warmup_epochs: int = field(default=10, metadata={
        "doc": "offline: supervised epochs before the pool is labeled (paper 002 silent; a third of 30 epochs)"})
    online: bool = field(default=False, metadata={"doc": "False: SSBase (label once after warm-up); True: Lee 2013, every step"})
    rampup_fraction: float = field(default=0.4, metadata={
        "doc": "online: share of training over which w ramps up linearly from 0 (Lee 2013 ramps between epochs "
               "T1=100 and T2=600, with no fixed total; our choice)"})


@register
class PseudoLabel(Method):
    name = "pseudo_label"
    HParams = PseudoLabelHParams
    consumes_unlabeled = True
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: PseudoLabelHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        self.model = models.build_classifier(spec)
        self.register_buffer("pseudo_labels", torch.full((num_unlabeled,), -1, dtype=torch.long))  # argmax p̂
        self.register_buffer("pseudo_mask", torch.zeros(num_unlabeled))                            # 1{max p̂ > τ}

    @classmethod
    def plan(cls, hp: PseudoLabelHParams) -> TrainingPlan:
        """Offline (SSBase): selection after the warm-up, continuing from its best validation state (paper
        002 fine-tunes the best FSBase), the pool's predictions at epoch ends to label it once."""
        return replace(super().plan(hp), selection_start_epoch=0 if hp.online else hp.warmup_epochs,
                       warm_start_from_best=not hp.online, pool_predictions=True,
                       thresholded_mask=True, rampup_share=hp.rampup_fraction if hp.online else 0.0)

    def in_warmup(self, info: StepInfo) -> bool:
        return not self.hp.online and info.epoch < self.hp.warmup_epochs

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        if not self.hp.online and info.num_epochs <= self.hp.warmup_epochs:
            raise ValueError(f"pseudo_label: warmup_epochs={self.hp.warmup_epochs} leaves no fine-tuning epoch out of "
                             f"{info.num_epochs}; lower method_params.warmup_epochs or raise train.epochs")
        sup_loss = soft_cross_entropy(self.model(labeled.inputs, labeled.lengths), labeled.targets)
        if unlabeled is None or self.in_warmup(info):
            zero = torch.zeros((), device=sup_loss.device)
            return {"loss": sup_loss, "sup_loss": sup_loss.detach(), "unsup_loss": zero, "mask_rate": zero}

        logits_u = self.model(unlabeled.inputs, unlabeled.lengths)
        if self.hp.online:
            probs = logits_u.detach().softmax(-1)
            labels, mask = probs.argmax(-1), confidence_mask(probs, self.hp.threshold)
            weight = self.hp.unsup_weight * linear_rampup(training_progress(info.step, info.total_steps),
                                                          self.hp.rampup_fraction)
        else:
            labels, mask = self.pseudo_labels[unlabeled.index], self.pseudo_mask[unlabeled.index]
            weight = self.hp.unsup_weight
        unsup_loss = (mask * F.cross_entropy(logits_u, labels.clamp_min(0), reduction="none")).mean()
        return {"loss": sup_loss + weight * unsup_loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(weight), "mask_rate": mask.mean().detach()}

    def on_epoch_end(self, info: StepInfo, unlabeled_predictions: torch.Tensor | None = None) -> dict[str, float]:
        if self.hp.online or info.epoch != self.hp.warmup_epochs - 1:
            return {}
        if unlabeled_predictions is None:
            raise RuntimeError("pseudo_label (offline SSBase) needs the unlabeled pool's predictions at the end of "
                               "its warm-up; the trainer must honour the plan's `pool_predictions`")
        if len(unlabeled_predictions) != self.num_unlabeled:
            raise ValueError(f"got predictions for {len(unlabeled_predictions)} unlabeled rows, built for {self.num_unlabeled}")
        self.assign(unlabeled_predictions)
        return {"pseudo_label_rate": float(self.pseudo_mask.mean())}

    @torch.no_grad()
    def assign(self, probs: torch.Tensor) -> None:
        """Label the pool once from the warmed-up model's probabilities [N_u, C]."""
        probs = probs.to(self.pseudo_mask.device)
        self.pseudo_labels.copy_(probs.argmax(-1))
        self.pseudo_mask.copy_(confidence_mask(probs, self.hp.threshold))

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
