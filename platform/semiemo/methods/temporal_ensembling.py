"""Temporal ensembling (Laine & Aila 2017), as paper 003 §2.3 uses it as a baseline.

Each unlabeled row i keeps an ensemble prediction Z_i, an EMA over epochs of the network's (noisy,
dropout) softmax outputs for it: Z_i ← α Z_i + (1 − α) z_i at the end of every epoch it was seen in,
and the training target is the start-up-bias-corrected z̃_i = Z_i / (1 − α^{t_i}), t_i = its updates.
Per step: loss = CE(f(noise(x_l)), y) + w(t) · (1/C)·mean ||softmax f(noise(u)) − z̃_u||², over the
unlabeled rows that have a target yet, w(t) ramped up as exp(−5(1 − t)²).

As in the original, an epoch is one pass over the unlabeled pool (its plan's `UnlabeledPass`; the
labeled stream cycles meanwhile), so every row has a target from its second epoch on, whatever the
pool size — unless `train.steps_per_epoch` fixes a shorter epoch, where rows not yet revisited have
no target (the per-row update count t_i then replaces the global epoch count, and `mask_rate`
shows the share with a target). The consistency term covers the unlabeled rows (the labeled rows get
the supervised term). Under data parallelism the trainer sums the per-epoch predictions over ranks
(the plan's `rank_sums`), so every worker holds the ensemble of the whole pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from semiemo import models
from semiemo.methods import augment
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan, UnlabeledPass
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import (
    bias_corrected, ensemble_update, sigmoid_rampup, soft_cross_entropy, training_progress,
)


@dataclass
class TemporalEnsemblingHParams:
    ensemble_momentum: float = field(default=0.6, metadata={"doc": "α, ensemble EMA momentum (Laine & Aila 2017; paper 003 silent)"})
    max_unsup_weight: float = field(default=30.0, metadata={
        "doc": "w_max (Laine & Aila 2017 §3, temporal ensembling); their w_max·M/N with CE over |B| equals this with means"})
    rampup_fraction: float = field(default=80 / 300, metadata={"doc": "share of training over which w(t) ramps up (80 of 300 epochs)"})
    noise_std: float = field(default=0.15, metadata={"doc": "σ of Gaussian input noise (Laine & Aila 2017)"})


@register
class TemporalEnsembling(Method):
    name = "temporal_ensembling"
    HParams = TemporalEnsemblingHParams
    consumes_unlabeled = True
    trainable = ("model",)

    @classmethod
    def plan(cls, hp: TemporalEnsemblingHParams) -> TrainingPlan:
        return replace(super().plan(hp), epoch=UnlabeledPass(), rank_sums=("epoch_sum", "epoch_count"),
                       rampup_share=hp.rampup_fraction)

    def __init__(self, spec: ModelSpec, hparams: TemporalEnsemblingHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        self.model = models.build_classifier(spec)
        c = spec.num_classes
        self.register_buffer("ensemble", torch.zeros(num_unlabeled, c))           # Z
        self.register_buffer("updates", torch.zeros(num_unlabeled, dtype=torch.long))  # t_i
        self.register_buffer("epoch_sum", torch.zeros(num_unlabeled, c))          # this epoch's z, summed
        self.register_buffer("epoch_count", torch.zeros(num_unlabeled))

    def targets(self, index: torch.Tensor) -> torch.Tensor:
        """z̃ = Z / (1 − α^t) for the given unlabeled rows."""
        return bias_corrected(self.ensemble[index], self.hp.ensemble_momentum, self.updates[index])

    def record(self, index: torch.Tensor, probs: torch.Tensor) -> None:
        """Accumulate this epoch's predictions z for rows `index` (averaged if a row comes twice)."""
        self.epoch_sum.index_add_(0, index, probs.detach().to(self.epoch_sum.dtype))
        self.epoch_count.index_add_(0, index, torch.ones_like(index, dtype=self.epoch_count.dtype))

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        logits_l = self.model(augment.add_noise(labeled.inputs, self.hp.noise_std), labeled.lengths)
        sup_loss = soft_cross_entropy(logits_l, labeled.targets)
        unsup_weight = self.hp.max_unsup_weight * sigmoid_rampup(
            training_progress(info.step, info.total_steps), self.hp.rampup_fraction)
        if unlabeled is None:
            return {"loss": sup_loss, "sup_loss": sup_loss.detach()}
        if self.num_unlabeled == 0 or int(unlabeled.index.max()) >= self.num_unlabeled:
            raise ValueError(f"temporal_ensembling was built for {self.num_unlabeled} unlabeled rows but got "
                             f"row index {int(unlabeled.index.max())}; pass num_unlabeled = the unlabeled pool size")

        probs_u = self.model(augment.add_noise(unlabeled.inputs, self.hp.noise_std), unlabeled.lengths).softmax(-1)
        self.record(unlabeled.index, probs_u)
        has_target = (self.updates[unlabeled.index] > 0).to(probs_u.dtype)  # [B_u]
        per_row = ((probs_u - self.targets(unlabeled.index)) ** 2).mean(dim=-1)
        unsup_loss = (has_target * per_row).mean()
        loss = sup_loss + unsup_weight * unsup_loss
        return {"loss": loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(unsup_weight), "mask_rate": has_target.mean().detach()}

    def on_epoch_end(self, info: StepInfo, unlabeled_predictions: torch.Tensor | None = None) -> dict[str, float]:
        seen = self.epoch_count > 0
        if seen.any():
            epoch_mean = self.epoch_sum[seen] / self.epoch_count[seen].unsqueeze(1)
            self.ensemble[seen] = ensemble_update(self.ensemble[seen], epoch_mean, self.hp.ensemble_momentum)
            self.updates[seen] += 1
        self.epoch_sum.zero_()
        self.epoch_count.zero_()
        coverage = float((self.updates > 0).float().mean()) if self.num_unlabeled else 0.0
        return {"ensemble_coverage": coverage}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
