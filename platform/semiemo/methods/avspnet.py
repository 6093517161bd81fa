"""Paper 004 (AV-SpNET): a CNN front-end pre-trained on wild speech with proxy labels, frozen, and
a dense recognition network fine-tuned on the target corpus's segments.

Pre-training (`avspnet_pretrain`), on segments x of unlabeled wild speech with proxy label y:
    L = α·L_m + (1−α)·L_x                                        (eq. 7)
    L_m = mean ‖x − x̃‖²  (eq. 5)      L_x = mean BCE(ỹ, y)  (eq. 6)    both mean-reduced (spec §5.1)
    Table 2 initialisations: W = α 0, AE = α 1, AV-SpNET = α given (0.5), W_AE = AE for
    `ae_epochs` epochs, then L_x only. Segments with an unknown proxy (-1) join L_m only.
Fine-tuning (`avspnet`), on an utterance's valid segments, each carrying its utterance's label:
    L = mean_segments CE(recognizer(frozen_encoder(segment)), y_utterance)
    utterance prediction = majority vote of its segments' argmax (ties: mean probability).
The front-end comes from a pre-training checkpoint named by `frontend`; the trainer resolves it
(`semiemo.train.pretrained`) and hands its state to `load_pretrained`. "R" is a random front-end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import soft_cross_entropy
from semiemo.models.cnn_frontend import FrontEndConfig, PretrainNetwork, RecognitionNetwork, majority_vote, valid_segments

SEGMENTS_GROUP = "avsp"           # fine-tuning input: [B, S, F, T] segments, valid count in lengths["avsp"]
PRETRAIN_GROUP = "avsp_segment"   # pre-training input: one segment per row, [B, F, T]
RANDOM_FRONTEND = "R"
# Paper 004's pre-training pool stand-in: few speakers with many utterances each (per-speaker proxy baselines) whose
# transcripts carry an emotion word 80 % of the time, so the valence proxy agrees with the truth ~0.6 (CALIBRATION.md)
PRETRAIN_CORPUS = "synthetic:acted=0,wild_labeled=0,unlabeled=240,seed=4,wild_speakers=12,wild_text_cue_prob=0.8"


def frontend_config(shape: tuple[int, ...], **overrides: Any) -> FrontEndConfig:
    """The front-end sized for segments of shape (..., F, T)."""
    return FrontEndConfig(bins=int(shape[-2]), frames=int(shape[-1]), **overrides)


@dataclass
class AVSpNetPretrainHParams:
    alpha: float = field(default=0.5, metadata={
        "doc": "α, weight of the reconstruction loss L_m against the proxy loss L_x (paper 004 eq. 7; unstated, spec §5.1: 0.5)"})
    ae_epochs: int = field(default=0, metadata={
        "doc": "W_AE (paper 004 Table 2): epochs of auto-encoder only (α = 1) before L_x only; 0 = joint eq. 7 throughout"})
    pool_size: int = field(default=2, metadata={"doc": "max-pool size (paper ambiguous; spec §5.2: 2)"})
    channels: int = field(default=32, metadata={"doc": "conv kernels per layer (paper 004: 32)"})


@register
class AVSpNetPretrain(Method):
    """Pre-training of the front-end on wild segments with one proxy label (arousal or valence)."""

    name = "avspnet_pretrain"
    HParams = AVSpNetPretrainHParams
    consumes_unlabeled = False
    trainable = ("model",)

    @classmethod
    def plan(cls, hp: AVSpNetPretrainHParams) -> TrainingPlan:
        return replace(super().plan(hp), ddp_find_unused_parameters=True)  # α = 0 or 1 leaves a branch unused

    def __init__(self, spec: ModelSpec, hparams: AVSpNetPretrainHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        if not 0.0 <= hparams.alpha <= 1.0:
            raise ValueError(f"alpha (α, eq. 7) must lie in [0, 1], got {hparams.alpha}")
        if PRETRAIN_GROUP not in spec.input_shapes:
            raise ValueError(f"avspnet_pretrain needs the feature group {PRETRAIN_GROUP!r} (one segment per row); "
                             f"got {sorted(spec.input_shapes)} — build it with semiemo.recipes.avspnet_pretrain")
        self.model = PretrainNetwork(frontend_config(spec.input_shapes[PRETRAIN_GROUP], pool_size=hparams.pool_size,
                                                     channels=hparams.channels))

    def alpha_at(self, epoch: int) -> float:
        if self.hp.ae_epochs > 0:
            return 1.0 if epoch < self.hp.ae_epochs else 0.0
        return float(self.hp.alpha)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        x = labeled.inputs[PRETRAIN_GROUP]
        alpha = self.alpha_at(info.epoch)
        recon, proxy_logit = self.model(x)
        recon_loss = F.mse_loss(recon.squeeze(1), x)                        # L_m, eq. 5 (mean)
        known = labeled.targets.sum(dim=1) > 0                              # proxy -1 -> target row of zeros
        y = labeled.targets[:, 1]
        proxy_loss = (F.binary_cross_entropy_with_logits(proxy_logit[known], y[known]) if known.any()
                      else proxy_logit.sum() * 0.0)                          # L_x, eq. 6 (mean)
        loss = alpha * recon_loss + (1.0 - alpha) * proxy_loss              # eq. 7
        with torch.no_grad():
            proxy_acc = ((proxy_logit[known] > 0).float() == y[known]).float().mean() if known.any() else torch.tensor(float("nan"))
        return {"loss": loss, "recon_loss": recon_loss.detach(), "proxy_loss": proxy_loss.detach(),
                "alpha": torch.tensor(alpha), "proxy_accuracy": proxy_acc, "known_proxy_share": known.float().mean()}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Proxy class logits [B, 2] = [0, z] (softmax of these is [1 − σ(z), σ(z)])."""
        _, z = self.model(inputs[PRETRAIN_GROUP])
        return torch.stack([torch.zeros_like(z), z], dim=1)

    def frontend_state(self) -> dict[str, torch.Tensor]:
        """The conv stages' weights and BN statistics: what fine-tuning loads."""
        net = getattr(self.model, "module", self.model)
        return {k: v.detach().cpu().clone() for k, v in net.encoder.state_dict().items()}


@dataclass
class AVSpNetHParams:
    frontend: str = field(default=RANDOM_FRONTEND, metadata={
        "doc": "front-end: 'R' (random, paper 004 Table 2), a front-end store key, or a pre-training recipe "
               "(W_a, W_v, AE, W_AE_a, W_AE_v, AV-SpNET_a, AV-SpNET_v) pre-trained on `pretrain_corpus` on demand"})
    pretrain_corpus: str = field(default=PRETRAIN_CORPUS, metadata={
        "doc": "wild corpus spec a recipe pre-trains on (needs speaker, text; paper 004: DaAi, 20,082 utterances)"})
    pretrain_epochs: int = field(default=10, metadata={"doc": "pre-training epochs of a recipe (paper silent; spec: ≤ 50)"})
    pretrain_alpha: float = field(default=0.5, metadata={"doc": "α of AV-SpNET recipes (paper 004 eq. 7; spec §5.1: 0.5)"})
    pretrain_seed: int = field(default=-1, metadata={"doc": "seed of the pre-training run; -1 = the fine-tuning seed (spec: one encoder per seed)"})
    dropout: float = field(default=0.5, metadata={"doc": "dropout before the output layer (paper 004: used, rate unstated; spec: 0.5)"})
    hidden: tuple[int, ...] = field(default=(1024, 512, 128), metadata={"doc": "recognition FC widths (paper 004: 1024, 512, 128)"})
    freeze_frontend: bool = field(default=True, metadata={"doc": "keep the conv stages frozen (paper 004); False: also train them (R with r_trainable)"})
    pool_size: int = field(default=2, metadata={"doc": "max-pool size; must match the pre-trained front-end"})
    channels: int = field(default=32, metadata={"doc": "conv kernels; must match the pre-trained front-end"})
    r_bn_calibration: bool = field(default=True, metadata={
        "doc": "R only: estimate the random front-end's BN statistics on the first epoch's training segments "
               "(a random net has none; paper silent), then freeze them"})


def frontend_requests(hp: AVSpNetHParams) -> dict[str, dict[str, Any]]:
    """The `frontend` slot's request: none for a random front-end, else a store key or a recipe to pre-train."""
    if hp.frontend == RANDOM_FRONTEND:
        return {}
    return {"frontend": {"kind": "avspnet_frontend", "frontend": hp.frontend, "corpus": hp.pretrain_corpus,
                         "epochs": hp.pretrain_epochs, "alpha": hp.pretrain_alpha,
                         "seed": hp.pretrain_seed, "pool_size": hp.pool_size, "channels": hp.channels}}


@register
class AVSpNet(Method):
    """Fine-tuning on target segments over a frozen (pre-trained or random) front-end."""

    name = "avspnet"
    HParams = AVSpNetHParams
    consumes_unlabeled = False
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: AVSpNetHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        if SEGMENTS_GROUP not in spec.input_shapes or len(spec.input_shapes[SEGMENTS_GROUP]) != 3:
            raise ValueError(f"avspnet needs the feature group {SEGMENTS_GROUP!r} of shape [S, F, T] "
                             f"(featurizer `avsp`); got {spec.input_shapes} — run with --features avsp")
        cfg = frontend_config(spec.input_shapes[SEGMENTS_GROUP], pool_size=hparams.pool_size, channels=hparams.channels)
        self.model = RecognitionNetwork(cfg, spec.num_classes, tuple(hparams.hidden), hparams.dropout,
                                        freeze_encoder=hparams.freeze_frontend)

    # --- the front-end slot -------------------------------------------------------------------
    @classmethod
    def plan(cls, hp: AVSpNetHParams) -> TrainingPlan:
        return replace(super().plan(hp), pretrained=frontend_requests(hp))


    def load_pretrained(self, slot: str, state: dict[str, torch.Tensor]) -> None:
        if slot != "frontend":
            raise KeyError(f"avspnet has no pretrained slot {slot!r}; it has 'frontend'")
        net = getattr(self.model, "module", self.model)
        net.encoder.load_state_dict(state)

    # --- the algorithm -------------------------------------------------------------------------
    def _segments(self, batch_inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None):
        x = batch_inputs[SEGMENTS_GROUP]
        counts = (lengths or {}).get(SEGMENTS_GROUP)
        if counts is None:
            raise ValueError(f"avspnet needs each utterance's valid segment count as lengths[{SEGMENTS_GROUP!r}] "
                             f"(the avsp featurizer's num_segments)")
        return valid_segments(x, counts)

    def calibrating_bn(self, info: StepInfo) -> bool:
        return (self.hp.frontend == RANDOM_FRONTEND and self.hp.r_bn_calibration and self.hp.freeze_frontend
                and info.epoch == 0)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        segments, utterance = self._segments(labeled.inputs, labeled.lengths)
        if self.calibrating_bn(info):  # running averages over epoch 0's batches; no gradient, weights untouched
            encoder = getattr(self.model, "module", self.model).encoder
            for bn in (m for m in encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)):
                bn.momentum = None  # cumulative average
            with torch.no_grad():
                encoder.train()
                encoder(segments)
                encoder.eval()
        sup_loss = soft_cross_entropy(self.model(segments), labeled.targets[utterance])  # segment-level CE
        return {"loss": sup_loss, "sup_loss": sup_loss.detach(),
                "segments_per_utterance": torch.tensor(len(utterance) / max(len(labeled), 1))}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Vote scores [B, K] (votes + tie-breaking mean probability); argmax = the voted class."""
        segments, utterance = self._segments(inputs, lengths)
        proba = torch.softmax(self.model(segments), dim=1)
        return majority_vote(proba, utterance, inputs[SEGMENTS_GROUP].shape[0])
