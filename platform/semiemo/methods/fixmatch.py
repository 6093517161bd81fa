"""FixMatch generalized to audio features, paper 003 §3.3 (eq. 3-4, Algorithm 1 without the visual part).

Per step, with B labeled and μ·B unlabeled rows (μ is the trainer's `mu`):
  L(B^L) = CE(M_θ(SA(x)), y)                                   Algorithm 1 line 3
  p̃ = M_θ(WA(u)), ỹ = argmax p̃                                  eq. 3   weak view: dropout
  L(B^U) = (1/|B^U|) Σ 1{max p̃ > τ} · CE(M_θ(SA(u)), ỹ)          eq. 4   strong view: SpecAugment
  L = L(B^L) + λ · L(B^U)                                       eq. 1
WA and SA are stored audio views (weak / strong policy) where the run has them (`methods.views`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from semiemo import models
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import Views, check_view
from semiemo.methods.ssl_math import confidence_mask, soft_cross_entropy

@dataclass
class FixMatchHParams:
    threshold: float = field(default=0.9, metadata={"doc": "τ, confidence threshold, paper 003 eq. 4 (§4.2: τ = 0.9)"})
    unsup_weight: float = field(default=0.1, metadata={"doc": "λ, weight of the unlabeled loss, paper 003 eq. 1 (§4.2: λ = 0.1)"})
    weak_dropout: float = field(default=0.1, metadata={
        "doc": "dropout rate of the weak view WA (paper 003 names dropout, no rate; our choice)"})
    labeled_view: str = field(default="strong", metadata={
        "doc": "augmentation of labeled rows: 'strong' (paper 003 Alg. 1 line 3), 'weak' (original FixMatch) or 'none'"})


@register
class FixMatch(Method):
    name = "fixmatch"
    HParams = FixMatchHParams
    consumes_unlabeled = True
    trainable = ("model",)

    @classmethod
    def plan(cls, hp: FixMatchHParams) -> TrainingPlan:
        return replace(super().plan(hp), thresholded_mask=True)  # 1{max p̃ > τ}, eq. 4

    def __init__(self, spec: ModelSpec, hparams: FixMatchHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        check_view("fixmatch", "labeled_view", hparams.labeled_view)
        self.model = models.build_classifier(spec)
        self.views = Views(hparams.weak_dropout, dict(spec.pad_sides))

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        sup_loss = soft_cross_entropy(self.model(self.views.of(self.hp.labeled_view, labeled), labeled.lengths),
                                      labeled.targets)
        if unlabeled is None:
            return {"loss": sup_loss, "sup_loss": sup_loss.detach()}
        with torch.no_grad():
            weak_probs = self.model(self.views.of("weak", unlabeled), unlabeled.lengths).softmax(-1)  # p̃, eq. 3
        pseudo_labels = weak_probs.argmax(dim=-1)                                                     # ỹ, eq. 3
        mask = confidence_mask(weak_probs, self.hp.threshold)                                          # 1{max p̃ > τ}
        strong_logits = self.model(self.views.of("strong", unlabeled), unlabeled.lengths)
        unsup_loss = (mask * F.cross_entropy(strong_logits, pseudo_labels, reduction="none")).mean()   # eq. 4
        loss = sup_loss + self.hp.unsup_weight * unsup_loss                                            # eq. 1
        return {"loss": loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(self.hp.unsup_weight), "mask_rate": mask.mean().detach()}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
