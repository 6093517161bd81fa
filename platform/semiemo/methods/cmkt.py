"""CMKT + FixMatch, paper 003 §3.4 (eqs. 5-10, Algorithm 1): visual pseudo-labels fused with audio ones.

Per step, B labeled rows and μ·B unlabeled audio-visual rows (μ = 1, the trainer's `mu`):
  L_L = CE(M_θ(SA(x)), y)                                         Algorithm 1 line 3 (strong view on labeled)
  p̃ᵃ = M_θ(WA(ũᵃ)), ỹᵃ = argmax p̃ᵃ                                 eq. 3 (no gradient)
  p̃ᵛ = FER track probabilities -> task classes, ỹᵛ = argmax p̃ᵛ      §3.2 (methods.visual_labels)
  p̃  = M_θ(SA(ũᵃ))
  FF1 Consistent & Random:  w ~ U(0,1) per row per step              eq. 5
      mask = 1{ỹᵃ = ỹᵛ or w < ε};  target = ỹᵛ                        eqs. 6-7 (no τ)
  FF2 Weighted Fusion:      p̃ᵃᵛ = α p̃ᵃ + (1-α) p̃ᵛ; target = argmax p̃ᵃᵛ   eq. 8
      mask = 1{max p̃ᵃᵛ > τ}                                          eq. 9
  L_U = (1/|Bᵁ|) Σ mask · CE(p̃, target);   L = L_L + λ L_U            eqs. 7/9, 10
With the 4-class restriction, clips whose visual argmax falls outside the four classes get mask 0.
The visual group (`fer` by default) is a side input: the SER network never sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from semiemo import models
from semiemo.methods import visual_labels
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.views import Views, check_view
from semiemo.methods.ssl_math import soft_cross_entropy

FUSIONS = ("ff1", "ff2")


def consistent_and_random_mask(audio_labels: torch.Tensor, visual_labels: torch.Tensor, epsilon: float,
                               uniform: torch.Tensor) -> torch.Tensor:
    """FF1, eq. 6: 1{ỹᵃ = ỹᵛ or w < ε} as float [B]; `uniform` holds this step's w ~ U(0,1) per row."""
    return ((audio_labels == visual_labels) | (uniform < epsilon)).float()


def weighted_fusion(audio_probs: torch.Tensor, visual_probs: torch.Tensor, alpha: float) -> torch.Tensor:
    """FF2, eq. 8: p̃ᵃᵛ = α p̃ᵃ + (1 − α) p̃ᵛ (α weights audio; α = 1 is FixMatch)."""
    return alpha * audio_probs + (1.0 - alpha) * visual_probs


@dataclass
class CMKTHParams:
    fusion: str = field(default="ff1", metadata={
        "doc": "'ff1' Consistent & Random (paper 003 eqs. 5-7) or 'ff2' Weighted Fusion (eqs. 8-9)"})
    epsilon: float = field(default=0.5, metadata={"doc": "ε, FF1 chance to keep a disagreeing row, paper 003 eq. 6 (Table 3: 0.5)"})
    alpha: float = field(default=0.2, metadata={"doc": "α, FF2 weight of the audio prediction, paper 003 eq. 8 (Table 3: 0.2)"})
    threshold: float = field(default=0.9, metadata={"doc": "τ, FF2 confidence threshold on p̃ᵃᵛ, paper 003 eq. 9 (§4.2: 0.9)"})
    ff1_threshold: float | None = field(default=None, metadata={
        "doc": "optional τ on max p̃ᵛ for FF1 (paper 003 eq. 6 has none; spec 003 §5.10); None: off"})
    unsup_weight: float = field(default=0.1, metadata={"doc": "λ, weight of L_U, paper 003 eq. 10 (§4.2: 0.1, no ramp)"})
    weak_dropout: float = field(default=0.1, metadata={"doc": "dropout rate of the weak view WA (paper 003 names dropout, no rate)"})
    labeled_view: str = field(default="strong", metadata={
        "doc": "augmentation of labeled rows: 'strong' (paper 003 Alg. 1 line 3), 'weak' or 'none'"})
    visual_group: str = field(default="fer", metadata={
        "doc": "feature group of per-frame FER probabilities [K, 7] (paper 003 §3.2); a side input, not a model input"})


def unlabeled_visual_probabilities(method: Method, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """p̃ᵛ [B, C] and keep [B] of a batch's visual group (shared by cmkt and dcmkt)."""
    group = method.hp.visual_group
    if group not in batch.inputs:
        raise ValueError(f"{method.name} reads visual pseudo-labels from feature group {group!r}, which the batch "
                         f"lacks (it has {sorted(batch.inputs)}); add {group!r} to `features`")
    track = visual_labels.track_probabilities(batch.inputs[group], batch.lengths.get(group),
                                              method.spec.pad_sides.get(group, "end"))
    return visual_labels.visual_class_probabilities(track, method.visual_matrix, method.visual_kind)


class VisualSideInput(Method):
    """Shared plumbing of methods that read FER frames as a side input (cmkt, dcmkt)."""

    def __init__(self, spec: ModelSpec, hparams, num_unlabeled: int = 0) -> None:  # type: ignore[no-untyped-def]
        super().__init__(spec, hparams, num_unlabeled)
        if hparams.visual_group not in spec.input_shapes:
            raise ValueError(f"{self.name} needs the visual feature group {hparams.visual_group!r} in `features` "
                             f"(have {sorted(spec.input_shapes)}); e.g. features: [<audio group>, fer]")
        audio_spec = spec.without_groups(hparams.visual_group)
        if not audio_spec.input_shapes:
            raise ValueError(f"{self.name} needs an audio feature group besides {hparams.visual_group!r}")
        matrix, self.visual_kind = visual_labels.fer_to_task_matrix(spec.class_names)
        self.register_buffer("visual_matrix", matrix, persistent=False)
        self.model = models.build_classifier(audio_spec)
        self.views = Views(hparams.weak_dropout, dict(spec.pad_sides))

    @classmethod
    def side_groups(cls, hparams) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        return (hparams.visual_group,)

    def audio(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v for k, v in inputs.items() if k != self.hp.visual_group}

    def view(self, name: str, inputs: dict[str, torch.Tensor],
             lengths: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The named view (`methods.views`) of the audio groups; the visual side input is left out."""
        return self.views(name, self.audio(inputs), lengths)

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(self.audio(inputs), lengths)


@register
class CMKT(VisualSideInput):
    name = "cmkt"
    HParams = CMKTHParams
    consumes_unlabeled = True
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: CMKTHParams, num_unlabeled: int = 0) -> None:
        if hparams.fusion not in FUSIONS:
            raise ValueError(f"cmkt fusion must be one of {FUSIONS}, got {hparams.fusion!r}")
        check_view("cmkt", "labeled_view", hparams.labeled_view)
        for name in ("epsilon", "alpha"):
            if not 0.0 <= getattr(hparams, name) <= 1.0:
                raise ValueError(f"cmkt {name} must lie in [0, 1], got {getattr(hparams, name)}")
        super().__init__(spec, hparams, num_unlabeled)

    @classmethod
    def plan(cls, hp: CMKTHParams) -> TrainingPlan:
        return replace(super().plan(hp), thresholded_mask=True)  # FF1's keep rule / FF2's τ (eqs. 6, 9)

    def fuse(self, audio_probs: torch.Tensor, visual_probs: torch.Tensor, keep: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """(target [B], mask [B] float, diagnostics) of FF1 or FF2."""
        audio_labels, visual_labels_ = audio_probs.argmax(dim=1), visual_probs.argmax(dim=1)
        if self.hp.fusion == "ff1":
            uniform = torch.rand(audio_probs.shape[0], device=audio_probs.device)   # w, eq. 5: fresh per row, per step
            mask = consistent_and_random_mask(audio_labels, visual_labels_, self.hp.epsilon, uniform)
            if self.hp.ff1_threshold is not None:
                mask = mask * (visual_probs.max(dim=1).values > self.hp.ff1_threshold).float()
            target = visual_labels_                                                   # eq. 7: the visual label
        else:
            fused = weighted_fusion(audio_probs, visual_probs, self.hp.alpha)          # eq. 8
            target = fused.argmax(dim=1)
            mask = (fused.max(dim=1).values > self.hp.threshold).float()               # eq. 9
        mask = mask * keep.float()
        return target, mask, {"av_agreement": (audio_labels == visual_labels_).float().mean()}

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        sup_loss = soft_cross_entropy(self.model(self.view(self.hp.labeled_view, labeled.inputs, labeled.lengths), labeled.lengths),
                                      labeled.targets)                                 # L_L, Alg. 1 line 3
        if unlabeled is None:
            return {"loss": sup_loss, "sup_loss": sup_loss.detach()}
        with torch.no_grad():
            audio_probs = self.model(self.view("weak", unlabeled.inputs), unlabeled.lengths).softmax(-1)  # p̃ᵃ
            visual_probs, keep = unlabeled_visual_probabilities(self, unlabeled)                         # p̃ᵛ
        strong_logits = self.model(self.view("strong", unlabeled.inputs, unlabeled.lengths), unlabeled.lengths)            # p̃
        target, mask, diag = self.fuse(audio_probs, visual_probs, keep)
        unsup_loss = (mask * F.cross_entropy(strong_logits, target, reduction="none")).mean()  # / |Bᵁ|, eqs. 7/9
        loss = sup_loss + self.hp.unsup_weight * unsup_loss                                  # eq. 10
        hist = torch.bincount(target[mask > 0], minlength=audio_probs.shape[1]).float() / max(len(target), 1)
        return {"loss": loss, "sup_loss": sup_loss.detach(), "unsup_loss": unsup_loss.detach(),
                "unsup_weight": torch.tensor(self.hp.unsup_weight), "mask_rate": mask.mean(),
                "visual_keep_rate": keep.float().mean(), **diag,
                **{f"pseudo_label_share/{c}": hist[c] for c in range(len(hist))}}

    @torch.no_grad()
    def pseudo_label_diagnostics(self, unlabeled_predictions: torch.Tensor, pool: Batch) -> dict[str, torch.Tensor]:
        """Audio (eval-mode prediction), visual and fused pseudo-labels of the whole pool (-1: no label)."""
        visual_probs, keep = unlabeled_visual_probabilities(self, pool)
        audio = unlabeled_predictions.argmax(dim=1)
        visual = torch.where(keep, visual_probs.argmax(dim=1), -1)
        if self.hp.fusion == "ff1":
            fused = torch.where(keep & (audio == visual), visual, -1)  # the rows FF1 keeps for sure (ε-draws aside)
        else:
            p = weighted_fusion(unlabeled_predictions, visual_probs, self.hp.alpha)
            fused = torch.where(keep & (p.max(dim=1).values > self.hp.threshold), p.argmax(dim=1), -1)
        return {"audio": audio, "visual": visual, "fused": fused}
