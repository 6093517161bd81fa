"""Π-model (Laine & Aila 2017), as paper 003 §2.3 uses it as a baseline: consistency between two
stochastic passes of the same network over the same inputs.

Per step: z = f(noise(x)), z̃ = f(noise(x)) with independent input noise and dropout, over the labeled
and unlabeled rows together; loss = CE(z_labeled, y) + w(t) · (1/C)·mean ||softmax z − softmax z̃||²,
w(t) = w_max · exp(−5(1 − t)²) over the ramp-up. Both passes carry gradients, as in the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from semiemo import models
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import check_stored_policy, noisy_concat
from semiemo.methods.ssl_math import (
    concat_inputs, sigmoid_rampup, soft_cross_entropy, squared_l2_per_class, training_progress,
)


@dataclass
class PiModelHParams:
    max_unsup_weight: float = field(default=100.0, metadata={
        "doc": "w_max, Laine & Aila 2017 §3 (paper 003 silent). Their w_max·M/N with CE summed over labeled "
               "rows / |B| is this w_max with both terms as means"})
    rampup_fraction: float = field(default=80 / 300, metadata={
        "doc": "share of training over which w(t) ramps up (Laine & Aila: 80 of 300 epochs)"})
    noise_std: float = field(default=0.15, metadata={"doc": "σ of Gaussian input noise (Laine & Aila 2017, CIFAR-10)"})
    audio_view: str = field(default="weak", metadata={
        "doc": "stored audio-view policy (weak | strong) that replaces the noise where the run has stored views (`train --views`)"})


@register
class PiModel(Method):
    name = "pi_model"
    HParams = PiModelHParams
    consumes_unlabeled = True
    trainable = ("model",)

    @classmethod
    def plan(cls, hp: PiModelHParams) -> TrainingPlan:
        return replace(super().plan(hp), rampup_share=hp.rampup_fraction)  # no checkpoint from inside w(t)'s ramp-up

    def __init__(self, spec: ModelSpec, hparams: PiModelHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        check_stored_policy("pi_model", "audio_view", hparams.audio_view)
        self.model = models.build_classifier(spec)

    def stored_view_draws(self) -> dict[str, int]:
        return {self.hp.audio_view: 2}  # two noisy passes of each row (Laine & Aila)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        lengths = labeled.lengths if unlabeled is None else concat_inputs(labeled.lengths, unlabeled.lengths)
        hp = self.hp  # two stochastic views: two noise draws, or two different stored views
        logits_a = self.model(noisy_concat(labeled, unlabeled, hp.noise_std, hp.audio_view, draw=0), lengths)
        logits_b = self.model(noisy_concat(labeled, unlabeled, hp.noise_std, hp.audio_view, draw=1), lengths)

        sup_loss = soft_cross_entropy(logits_a[: len(labeled)], labeled.targets)
        unsup_loss = squared_l2_per_class(logits_a.softmax(-1), logits_b.softmax(-1))
        unsup_weight = self.hp.max_unsup_weight * sigmoid_rampup(
            training_progress(info.step, info.total_steps), self.hp.rampup_fraction)
        loss = sup_loss + unsup_weight * unsup_loss
        return {"loss": loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(unsup_weight)}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
