"""MixMatch (Berthelot et al. 2019) as paper 000 writes it, eq. 7-17 and 20-22.

Per step:
  X' = Augment(X)                                   (13)  Gaussian noise on the labeled rows
  Û_k = Augment(U), k = 1..K                         (14)
  q = Sharpen((1/K) Σ_k P(y | Û_k; θ), T)            (7, 8) the guessed label, no gradient
  W = Shuffle(Concatenate(X', Û_1..Û_K))             (15)
  X'' = MixUp(X', W_1), U'' = MixUp(Û, W_2)          (16, 17) λ ~ Beta(α, α), λ' = max(λ, 1 − λ)
  L = L_X + λ_U(t) · L_U                              (20-22) L_X cross-entropy on X'', L_U = (1/L)·mean ||q − p||² on U''
Paper 000's full objective adds cross-entropy on its acted and labeled internet sets; that curriculum
belongs to the `mmmd` method — the baseline here is MixMatch alone.

Defaults are MixMatch's own (Berthelot et al. 2019, §4: T = 0.5, K = 2, α = 0.75, λ_U = 100, λ_U ramped
up linearly over the first 16k of 1,024k steps). L_U above is MixMatch's own scale, the squared error
averaged over the L classes as well as the rows (a 1/L factor; USB's `mixmatch` computes the same
`mse_loss(...).mean(dim=1)`, with λ_U = 75 in its CIFAR-10 configs), so a guessed label that disagrees
with the prediction gives L_U of order 0.01-0.1 and only λ_U ~ 100 puts it beside L_X (order 1).
The ramp is a share of the step budget: runs of a few dozen steps meet the full λ_U almost at once.
Paper 000's best λ_U = 0.01 (Fig. 5a) is a property of its MMMD objective, which has two more
supervised passes per epoch (`mmmd` keeps it); as this baseline's default it made L_U inert: on the
positive control λ_U = 0.01 and λ_U = 0 gave the same UA on every seed (issue 23). Paper 000 does not
state its MixMatch baseline's T and λ_U (it cites Berthelot et al.); spec mmmd's guess "the same λ_U as
MMMD" would leave that baseline without an unlabeled term, so Table 1's MixMatch row
(`search_spaces/mmmd_table1.yaml`) runs MixMatch's own defaults too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from semiemo import models
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import check_stored_policy, noisy
from semiemo.methods.ssl_math import (
    linear_rampup, mixmatch_batch, sharpen, soft_cross_entropy, squared_l2_per_class, training_progress,
)


@dataclass
class MixMatchHParams:
    temperature: float = field(default=0.5, metadata={"doc": "T, sharpening temperature, eq. 8 (MixMatch §4: 0.5; paper 000 Fig. 5b's 0.3 is MMMD's)"})
    unsup_weight: float = field(default=100.0, metadata={
        "doc": "λ_U, weight of L_U, eq. 22 (MixMatch §4: 100 for its 1/L-scaled L_U; paper 000's 0.01 is MMMD's, inert here)"})
    augmentations: int = field(default=2, metadata={"doc": "K augmentations per unlabeled row, eq. 7 (paper 000 silent; MixMatch's K=2)"})
    mixup_alpha: float = field(default=0.75, metadata={"doc": "α of λ ~ Beta(α, α), paper 000 eq. 9; 0 turns MixUp off (λ' = 1)"})
    noise_std: float = field(default=0.15, metadata={
        "doc": "σ of the Gaussian-noise augmentation (paper 000 gives none; Laine & Aila's 0.15)"})
    rampup_fraction: float = field(default=16 / 1024, metadata={
        "doc": "share of training over which λ_U ramps up linearly (MixMatch: 16k of 1,024k steps)"})
    audio_view: str = field(default="weak", metadata={
        "doc": "stored audio-view policy (weak | strong) that replaces the noise where the run has stored views (`train --views`)"})


@register
class MixMatch(Method):
    name = "mixmatch"
    HParams = MixMatchHParams
    consumes_unlabeled = True
    trainable = ("model",)

    @classmethod
    def plan(cls, hp: MixMatchHParams) -> TrainingPlan:
        return replace(super().plan(hp), rampup_share=hp.rampup_fraction)  # no checkpoint from inside w(t)'s ramp-up

    def __init__(self, spec: ModelSpec, hparams: MixMatchHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        if hparams.augmentations < 1:
            raise ValueError(f"mixmatch needs K >= 1 augmentations, got {hparams.augmentations}")
        check_stored_policy("mixmatch", "audio_view", hparams.audio_view)
        self.model = models.build_classifier(spec)

    @torch.no_grad()
    def guess_labels(self, unlabeled_views: list[dict[str, torch.Tensor]], lengths: dict[str, torch.Tensor]) -> torch.Tensor:
        """q = Sharpen(mean_k P(y | Û_k), T), eq. 7-8."""
        mean_probs = torch.stack([self.model(v, lengths).softmax(-1) for v in unlabeled_views]).mean(dim=0)
        return sharpen(mean_probs, self.hp.temperature)

    def stored_view_draws(self) -> dict[str, int]:
        return {self.hp.audio_view: self.hp.augmentations}  # K augmentations of an unlabeled row (eq. 14)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        hp = self.hp
        inputs = noisy(labeled, hp.noise_std, hp.audio_view)                         # X', eq. 13
        views, guess = [], labeled.targets[:0]
        if unlabeled is not None:
            views = [noisy(unlabeled, hp.noise_std, hp.audio_view, draw=k) for k in range(hp.augmentations)]  # eq. 14
            guess = self.guess_labels(views, unlabeled.lengths)                       # q, eq. 7-8
        mixed_inputs, mixed_targets, mixed_lengths, lam = mixmatch_batch(
            inputs, labeled.targets, labeled.lengths, views, unlabeled.lengths if unlabeled is not None else {},
            guess, hp.mixup_alpha)                                                    # W, X'', U'': eq. 9-17
        logits = self.model(mixed_inputs, mixed_lengths)

        n_labeled = len(labeled)
        sup_loss = soft_cross_entropy(logits[:n_labeled], mixed_targets[:n_labeled])  # L_X, eq. 20
        unsup_weight = hp.unsup_weight * linear_rampup(training_progress(info.step, info.total_steps), hp.rampup_fraction)
        out = {"sup_loss": sup_loss.detach(), "unsup_weight": torch.tensor(unsup_weight), "mixup_lambda": torch.tensor(lam)}
        if unlabeled is None:
            return {"loss": sup_loss, **out}
        unsup_loss = squared_l2_per_class(logits[n_labeled:].softmax(-1), mixed_targets[n_labeled:])  # L_U, eq. 21
        return {"loss": sup_loss + unsup_weight * unsup_loss, "unsup_loss": unsup_loss.detach(), **out}  # eq. 22

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
