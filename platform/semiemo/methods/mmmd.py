"""Epoch-wise curriculum Multi-path Mix-match Multimodal DNN (paper 000), its variants, and MMD.

Network (models.multipath): one local classifier per feature path, P_p; MCB fusion of the acoustic
codes with the text + social codes; a global classifier, P_g.
  training target per head:  ℓ(p) = H(p, P_g) + β · (1/n_p) Σ_p H(p, P_p)                 (§1.4)
  prediction:                P(y|x; θ) = ω · P_g + (1 − ω) · mean_p P_p                     (§1.4)

Every epoch, one Adam state, phases in this order (`schedule="epochwise"`):
  1. acted pass        L_Ve  = ℓ(y, x) over V_e (acted)                                      (18)
  2. labeled wild pass L_VtL = ℓ(y, x) over V_t^L                                            (19)
  3. mixed pass        L_X + λ_U · L_U with X = V_t^L ∪ V_e, U = V_t^U:                    (20-22)
       X' = Augment(X); Û_k = Augment(U), k = 1..K                                          (13-14)
       q = Sharpen((1/K) Σ_k P(y | Û_k; θ), T)                                              (7-8)
       W = Shuffle(X', Û); X'' = MixUp(X', W_1), U'' = MixUp(Û, W_2), λ' = max(λ, 1−λ)      (9-17)
       L_X = ℓ on X'' (soft targets); L_U = β-weighted (1/C)·mean ||q − P||² over the heads on U''
Variants, same batches and update count: `schedule="random_turn"` (MMMD-w-avd: all the epoch's phase
batches in one random order), `acted=False` (MMMD-w/o-avd: no V_e anywhere). `mmd` is the supervised
part alone (Table 2): ℓ over the labeled rows, no MixMatch, no curriculum.
The trainer builds the phases' streams (its plan's `PhasePlan`, `train.phases`); this module sees batches only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from semiemo.methods import augment
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import Phase, PhasePlan, TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import mixmatch_batch, sharpen, soft_cross_entropy
from semiemo.models.multipath import ACOUSTIC_GROUPINGS, PATH_KINDS, MultiPathNetwork, feature_paths

SCHEDULES = ("epochwise", "random_turn")
ACTED, WILD, MIX = "acted", "wild", "mix"  # phase names


@dataclass
class MMDHParams:
    local_weight: float = field(default=1.0, metadata={"doc": "β, weight of the mean local-head loss in ℓ, paper 000 §2.2 (unstated; spec 1.0)"})
    global_weight: float = field(default=0.5, metadata={"doc": "ω, weight of P_g in P(y|x;θ) = ω·P_g + (1−ω)·mean P_p, paper 000 §2.2 (unstated; spec 0.5)"})
    mcb_dim: int = field(default=2048, metadata={"doc": "d, MCB output dimension, paper 000 eq. 5-6"})
    mcb_signed_sqrt: bool = field(default=True, metadata={"doc": "signed sqrt + L2 after MCB (Fukui et al.; not in paper 000, spec ambiguity 4)"})
    fusion: str = field(default="mcb", metadata={"doc": "'mcb' (paper 000 eq. 2-6) or 'concat' (ablation ≈ MDNN, Table 2)"})
    acoustic_grouping: str = field(default="lld", metadata={"doc": "IS10 paths by 'lld' family (6) or by 'functional', paper 000 §2.1 (spec ambiguity 1)"})
    modalities: str = field(default="acoustic+text+topic+accent", metadata={
        "doc": "'+'-joined path kinds used (acoustic, text, topic, accent), paper 000 Fig. 5(d)"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.global_weight <= 1.0:
            raise ValueError(f"ω (global_weight) must lie in [0, 1], got {self.global_weight}")
        if self.fusion not in ("mcb", "concat"):
            raise ValueError(f"fusion must be 'mcb' or 'concat', got {self.fusion!r}")
        if self.acoustic_grouping not in ACOUSTIC_GROUPINGS:
            raise ValueError(f"acoustic_grouping must be one of {ACOUSTIC_GROUPINGS}, got {self.acoustic_grouping!r}")
        bad = sorted(set(self.kinds) - set(PATH_KINDS))
        if bad or not self.kinds:
            raise ValueError(f"modalities {self.modalities!r}: unknown kind(s) {bad}; join some of {list(PATH_KINDS)} with '+'")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.modalities.split("+") if k.strip())


@dataclass
class MMMDHParams(MMDHParams):
    temperature: float = field(default=0.3, metadata={"doc": "T, sharpening temperature, paper 000 eq. 8 (best in Fig. 5b)"})
    unsup_weight: float = field(default=0.01, metadata={"doc": "λ_U, weight of L_U, paper 000 eq. 22 (best in Fig. 5a); no ramp-up"})
    augmentations: int = field(default=2, metadata={"doc": "K, augmented copies per unlabeled row, paper 000 eq. 7 (unstated; MixMatch's 2)"})
    mixup_alpha: float = field(default=0.75, metadata={"doc": "α of λ ~ Beta(α, α), paper 000 eq. 9"})
    noise_std: float = field(default=0.1, metadata={"doc": "σ of the Gaussian-noise Augment, z-units, paper 000 eq. 13-14 (unstated; spec 0.1)"})
    noise_on_social: bool = field(default=True, metadata={"doc": "Augment also the social one-hots (paper: 'multi-modal features'; spec ambiguity 9)"})
    schedule: str = field(default="epochwise", metadata={"doc": "'epochwise' curriculum or 'random_turn' (MMMD-w-avd), paper 000 Table 1"})
    acted: bool = field(default=True, metadata={"doc": "use the acted set V_e (False: MMMD-w/o-avd), paper 000 Table 1"})
    acted_domain: str = field(default="acted", metadata={"doc": "manifest `domain` value of V_e; other labeled rows are V_t^L"})
    unlabeled_steps_per_epoch: int | None = field(default=None, metadata={"doc": "cap on the mixed pass's steps (default ⌈|V_t^U|/B⌉; spec u_steps_per_epoch)"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.augmentations < 1:
            raise ValueError(f"K (augmentations) must be >= 1, got {self.augmentations}")


class _MultiPath(Method):
    """What MMD and MMMD share: the multi-path network, the per-head loss ℓ and the weighted prediction."""

    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: MMDHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        paths = feature_paths(spec.input_shapes, hparams.acoustic_grouping, hparams.kinds)
        self.model = MultiPathNetwork(paths, spec.num_classes, mcb_dim=hparams.mcb_dim,
                                      signed_sqrt_l2=hparams.mcb_signed_sqrt, fusion=hparams.fusion)

    def combined_probs(self, global_logits: torch.Tensor, local_logits: torch.Tensor) -> torch.Tensor:
        """P(y|x;θ) = ω·P_g + (1 − ω)·mean_p P_p."""
        w = self.hp.global_weight
        return w * global_logits.softmax(-1) + (1 - w) * local_logits.softmax(-1).mean(dim=0)

    def head_loss(self, global_logits: torch.Tensor, local_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """ℓ(p) = H(p, P_g) + β·(1/n_p) Σ_p H(p, P_p), soft targets."""
        local = soft_cross_entropy(local_logits.flatten(0, 1), targets.repeat(local_logits.shape[0], 1))
        return soft_cross_entropy(global_logits, targets) + self.hp.local_weight * local

    def head_consistency(self, global_logits: torch.Tensor, local_logits: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """L_U per head: (1/C)·mean ||q − P_g||² + β·(1/n_p) Σ_p (1/C)·mean ||q − P_p||² (eq. 21)."""
        local = ((local_logits.softmax(-1) - q.unsqueeze(0)) ** 2).mean()
        return ((global_logits.softmax(-1) - q) ** 2).mean() + self.hp.local_weight * local

    def supervised_step(self, batch: Batch) -> torch.Tensor:
        return self.head_loss(*self.model(batch.inputs, batch.lengths), batch.targets)

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """log P(y|x;θ): the trainer's softmax of it gives back the weighted prediction."""
        return torch.log(self.combined_probs(*self.model(inputs, lengths)).clamp_min(1e-12))


@register
class MMD(_MultiPath):
    """Paper 000 Table 2's MMD: the supervised multi-path network, labeled rows only."""

    name = "mmd"
    HParams = MMDHParams
    consumes_unlabeled = False

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        loss = self.supervised_step(labeled)
        return {"loss": loss, "sup_loss": loss.detach()}


def phases(hp: MMMDHParams) -> PhasePlan:
    """Each epoch's passes: acted (if used), wild labeled (V_t^L), then the mixed pass with the pool."""
    acted = {"domain": (hp.acted_domain,)}
    plan = [Phase(ACTED, labeled_filter=acted)] if hp.acted else []
    plan.append(Phase(WILD, labeled_exclude=acted))                                   # V_t^L
    plan.append(Phase(MIX, labeled_exclude=None if hp.acted else acted,               # X = V_t^L (∪ V_e)
                      unlabeled=True, max_steps=hp.unlabeled_steps_per_epoch))
    return PhasePlan(tuple(plan), "sequential" if hp.schedule == "epochwise" else "shuffled")


@register
class MMMD(_MultiPath):
    name = "mmmd"
    HParams = MMMDHParams
    consumes_unlabeled = True

    @classmethod
    def plan(cls, hp: MMMDHParams) -> TrainingPlan:
        return replace(super().plan(hp), epoch=phases(hp))

    def augment(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Augment(v): v + N(0, σ²) on the standardized multimodal vector (eq. 13-14)."""
        noisy = augment.add_noise(inputs, self.hp.noise_std)
        if not self.hp.noise_on_social and "social" in inputs:
            noisy["social"] = inputs["social"]
        return noisy

    @torch.no_grad()
    def guess_labels(self, views: list[dict[str, torch.Tensor]], lengths: dict[str, torch.Tensor]) -> torch.Tensor:
        """q = Sharpen((1/K) Σ_k P(y | Û_k; θ), T) on the combined prediction (eq. 7-8)."""
        probs = torch.stack([self.combined_probs(*self.model(v, lengths)) for v in views]).mean(dim=0)
        return sharpen(probs, self.hp.temperature)

    def mix_step(self, labeled: Batch, unlabeled: Batch | None) -> dict[str, torch.Tensor]:
        hp = self.hp
        inputs = self.augment(labeled.inputs)                                                         # X', eq. 13
        views, guess = [], labeled.targets[:0]
        if unlabeled is not None:
            views = [self.augment(unlabeled.inputs) for _ in range(hp.augmentations)]               # Û_k, eq. 14
            guess = self.guess_labels(views, unlabeled.lengths)                                      # q, eq. 7-8
        mixed, mixed_targets, lengths, lam = mixmatch_batch(
            inputs, labeled.targets, labeled.lengths, views, unlabeled.lengths if unlabeled is not None else {},
            guess, hp.mixup_alpha)                                                                   # W, X'', U'': eq. 9-17
        global_logits, local_logits = self.model(mixed, lengths)
        n = len(labeled)
        sup = self.head_loss(global_logits[:n], local_logits[:, :n], mixed_targets[:n])             # L_X, eq. 20
        out = {"mix_sup_loss": sup.detach(), "mixup_lambda": torch.tensor(lam)}
        if unlabeled is None:  # no V_t^U (Fig. 5c at 0): W = X' only, L_U dropped
            return {"loss": sup, **out}
        unsup = self.head_consistency(global_logits[n:], local_logits[:, n:], mixed_targets[n:])    # L_U, eq. 21
        return {"loss": sup + hp.unsup_weight * unsup, "unsup_loss": unsup.detach(),
                "unsup_weight": torch.tensor(hp.unsup_weight), **out}                                 # eq. 22

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        if info.phase == MIX:
            return self.mix_step(labeled, unlabeled)
        if info.phase not in (ACTED, WILD):
            raise ValueError(f"mmmd runs its own phases {ACTED!r}, {WILD!r}, {MIX!r}; got phase {info.phase!r}")
        loss = self.supervised_step(labeled)                                                         # L_Ve / L_VtL, eq. 18-19
        return {"loss": loss, f"{info.phase}_loss": loss.detach()}


@dataclass
class MMMDRandomTurnHParams(MMMDHParams):
    schedule: str = field(default="random_turn", metadata={"doc": "MMMD-w-avd: the phase batches in random turn, paper 000 Table 1"})


@dataclass
class MMMDNoActedHParams(MMMDHParams):
    schedule: str = field(default="random_turn", metadata={"doc": "MMMD-w/o-avd runs in random turn, paper 000 Table 1"})
    acted: bool = field(default=False, metadata={"doc": "MMMD-w/o-avd: no acted set V_e, paper 000 Table 1"})


@register
class MMMDWithAVD(MMMD):
    """`mmmd` with `schedule=random_turn` as its default, so a sweep over `method` can name Table 1's rows."""

    name = "mmmd_w_avd"
    HParams = MMMDRandomTurnHParams


@register
class MMMDWithoutAVD(MMMD):
    """`mmmd` with `acted=False, schedule=random_turn` as its defaults (Table 1's MMMD-w/o-avd)."""

    name = "mmmd_wo_avd"
    HParams = MMMDNoActedHParams
