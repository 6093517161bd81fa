"""Mean teacher (Tarvainen & Valpola 2017): the teacher is an exponential moving average of the
student's weights, and the student is pulled towards the teacher's predictions.

Per step, over labeled + unlabeled rows with independent input noise and dropout for each network:
loss = CE(student(x_l), y) + w(t) · (1/C)·mean ||softmax student(x) − softmax teacher(x)||²
(the teacher gets no gradient); after the optimizer step θ' ← α θ' + (1 − α) θ, with α the smaller
of the configured decay and 1 − 1/(step + 1) (a true average while few steps exist).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import torch

from semiemo import models
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import check_stored_policy, noisy_concat
from semiemo.methods.ssl_math import (
    concat_inputs, ema_update, sigmoid_rampup, soft_cross_entropy, squared_l2_per_class, training_progress,
)


@dataclass
class MeanTeacherHParams:
    max_consistency_weight: float = field(default=100.0, metadata={
        "doc": "w_max of the MSE consistency cost (Tarvainen & Valpola 2017, reference code default)"})
    rampup_fraction: float = field(default=40_000 / 150_000, metadata={
        "doc": "share of training over which w(t) ramps up, sigmoid-shaped (reference code: 40k of 150k steps)"})
    ema_decay_during_rampup: float = field(default=0.99, metadata={"doc": "α while w(t) ramps up (Tarvainen & Valpola)"})
    ema_decay_after_rampup: float = field(default=0.999, metadata={"doc": "α afterwards (Tarvainen & Valpola)"})
    noise_std: float = field(default=0.15, metadata={"doc": "σ of Gaussian input noise η (Tarvainen & Valpola 2017)"})
    predict_with: str = field(default="teacher", metadata={"doc": "'teacher' (the paper's reported model) or 'student'"})
    audio_view: str = field(default="weak", metadata={
        "doc": "stored audio-view policy (weak | strong) that replaces η where the run has stored views (`train --views`)"})


@register
class MeanTeacher(Method):
    name = "mean_teacher"
    HParams = MeanTeacherHParams
    consumes_unlabeled = True
    trainable = ("model",)  # the teacher is never optimized: it follows the student by EMA

    @classmethod
    def plan(cls, hp: MeanTeacherHParams) -> TrainingPlan:
        return replace(super().plan(hp), rampup_share=hp.rampup_fraction)  # no checkpoint from inside w(t)'s ramp-up

    def __init__(self, spec: ModelSpec, hparams: MeanTeacherHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        if hparams.predict_with not in ("teacher", "student"):
            raise ValueError(f"mean_teacher predict_with must be 'teacher' or 'student', got {hparams.predict_with!r}")
        check_stored_policy("mean_teacher", "audio_view", hparams.audio_view)
        self.model = models.build_classifier(spec)  # the student θ
        self.teacher = copy.deepcopy(self.model)     # θ'
        self.teacher.requires_grad_(False)

    def stored_view_draws(self) -> dict[str, int]:
        return {self.hp.audio_view: 2}  # the student's and the teacher's views differ

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        lengths = labeled.lengths if unlabeled is None else concat_inputs(labeled.lengths, unlabeled.lengths)
        hp = self.hp  # student and teacher see independent views: two noise draws, or two different stored views
        student_logits = self.model(noisy_concat(labeled, unlabeled, hp.noise_std, hp.audio_view, draw=0), lengths)
        with torch.no_grad():
            teacher_probs = self.teacher(noisy_concat(labeled, unlabeled, hp.noise_std, hp.audio_view, draw=1),
                                         lengths).softmax(-1)

        sup_loss = soft_cross_entropy(student_logits[: len(labeled)], labeled.targets)
        unsup_loss = squared_l2_per_class(student_logits.softmax(-1), teacher_probs)
        unsup_weight = self.hp.max_consistency_weight * sigmoid_rampup(
            training_progress(info.step, info.total_steps), self.hp.rampup_fraction)
        loss = sup_loss + unsup_weight * unsup_loss
        return {"loss": loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(unsup_weight)}

    def ema_decay(self, info: StepInfo) -> float:
        ramping = training_progress(info.step, info.total_steps) < self.hp.rampup_fraction
        decay = self.hp.ema_decay_during_rampup if ramping else self.hp.ema_decay_after_rampup
        return min(decay, 1.0 - 1.0 / (info.step + 1))

    def after_optimizer_step(self, info: StepInfo) -> None:
        ema_update(self.teacher, self.model, self.ema_decay(info))

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        net = self.teacher if self.hp.predict_with == "teacher" else self.model
        return net(inputs, lengths)
