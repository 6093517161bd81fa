"""SSGAN / MSSGAN: paper 002's semi-supervised (multimodal) GAN with a consistency term.

Per batch (Algorithm 1, S_D = S_G = 1), on 128-frame crops x_l (labeled), x_u (unlabeled), z ~ U(−1,1)^100:

  D step (θ_D, and θ_C for several modalities):
    l(·) = K real logits, fake logit fixed at 0; one forward of D on [x_l, x_u, x_u, G(z)] gives the
    two dropout passes x′, x″ of x_u (the D is BatchNorm-free, so the passes are independent)
    L_sup  = −Σ_k ỹ_k log softmax(l(x_l))_k                     (fuzzy labels ỹ)
    L_real = E[softplus(LSE(l(x′))) − LSE(l(x′))]              = −E log(1 − D(K+1|x))
    L_fake = E[softplus(LSE(l(G(z))))]                          = −E log D(K+1|G(z))
    CT     = E max(0, d(softmax x′, softmax x″) + 0.1·d(D_(x′), D_(x″)) − M′)
    L_dis  = L_sup + L_real + L_fake + λ·CT                                     (eq. 4 / eq. 6)
  G step (θ_G): new z; L_gen = ‖E D_(G(z)) − E D_(x_u)‖² / dim, D frozen      (eq. 5 / eq. 7)

Multimodal (`mssgan`): one generator per modality fed the same z, D_ = D_a ⊕ D_v (the trunks'
flattened outputs) and the K-way head on it is the fusion classifier C. Inference: dropout off,
softmax averaged over 50 %-overlap crops, argmax over the K real classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.gan_math import (
    consistency_term, fake_loss, feature_matching_loss, prob_fake, real_loss, uniform_noise,
)
from semiemo.methods.plan import MethodStepped, TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import soft_cross_entropy
from semiemo.models.crops import averaged_crop_logits, random_crops
from semiemo.models.dcgan import Critic, Generators


@dataclass
class DCGANBackboneHParams:
    """The discriminator backbone every paper-002 method shares (SSGAN, FSBase, SSBase)."""

    crop_frames: int = field(default=128, metadata={"doc": "crop width in frames (paper 002 §IV-B: 128)"})
    d_dropout: float = field(default=0.2, metadata={"doc": "dropout after every D conv layer (paper 002 §IV-B: 0.2)"})
    leaky_slope: float = field(default=0.2, metadata={"doc": "LeakyReLU slope in D (paper silent; DCGAN/CT-GAN 0.2)"})
    width_scale: float = field(default=1.0, metadata={
        "doc": "multiplies every channel count (1 = paper 002's D 128-1024 / G 512-64); <1 only for CPU-sized runs"})


@dataclass
class SSGANHParams(DCGANBackboneHParams):
    ct_weight: float = field(default=1.0, metadata={"doc": "λ, weight of the consistency term (paper 002 eq. 4, §IV-B: 1)"})
    ct_margin: float = field(default=0.0, metadata={"doc": "M′, CT margin (paper silent; CT-GAN's SSL code: 0)"})
    ct_feature_weight: float = field(default=0.1, metadata={
        "doc": "weight of the D_ distance inside CT (paper silent; CT-GAN eq. 5: 0.1)"})
    noise_dim: int = field(default=100, metadata={"doc": "dimension of z (paper 002 §IV-B: 100)"})
    adam_beta1: float = field(default=0.5, metadata={"doc": "Adam β1 of both optimizers (paper silent; DCGAN/CT-GAN 0.5)"})
    adam_beta2: float = field(default=0.999, metadata={"doc": "Adam β2 of both optimizers (paper silent; 0.999)"})
    sup_over_k_plus_1: bool = field(default=False, metadata={
        "doc": "literal eq. 4: L_sup over K+1 classes, i.e. add the real term on labeled rows too"})


def _frame_widths(spec: ModelSpec, method: str, multimodal: bool) -> dict[str, int]:
    bad = {g: s for g, s in spec.input_shapes.items() if len(s) != 2}
    if bad:
        raise ValueError(f"{method} needs frame sequences [T, F] per row (features fbank, stft, face); "
                         f"got per-row shapes {bad}")
    n = len(spec.input_shapes)
    if multimodal and n < 2:
        raise ValueError(f"{method} fuses several modalities; got one feature group {list(spec.input_shapes)} — "
                         "add e.g. face to `features`, or use the unimodal method")
    if not multimodal and n != 1:
        raise ValueError(f"{method} is unimodal; got feature groups {list(spec.input_shapes)} — "
                         "keep one, or use the multimodal method (mssgan / mfsbase)")
    return {g: s[1] for g, s in spec.input_shapes.items()}


def build_critic(spec: ModelSpec, hp: DCGANBackboneHParams, method: str, multimodal: bool) -> Critic:
    widths = _frame_widths(spec, method, multimodal)
    return Critic(widths, hp.crop_frames, spec.num_classes, hp.width_scale, hp.d_dropout, hp.leaky_slope)


def _unwrap(module: nn.Module) -> nn.Module:
    """The module under a DDP wrapper (its forward does not take part in gradient synchronisation)."""
    return getattr(module, "module", module)


@register
class SSGAN(Method):
    name = "ssgan"
    HParams = SSGANHParams
    consumes_unlabeled = True
    trainable = ("D", "G")
    multimodal = False

    def __init__(self, spec: ModelSpec, hparams: SSGANHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        self.D = build_critic(spec, hparams, self.name, self.multimodal)
        widths = {g: s[1] for g, s in spec.input_shapes.items()}
        self.G = Generators(widths, hparams.crop_frames, hparams.noise_dim, hparams.width_scale)
        self.pad_sides = dict(getattr(spec, "pad_sides", {}) or {})

    @classmethod
    def plan(cls, hp: SSGANHParams) -> TrainingPlan:
        """Two optimizers this method steps itself: D (+C), then G on the updated D."""
        return replace(super().plan(hp), optimizers=MethodStepped())

    def configure_optimizers(self, train_config: Any) -> dict[str, torch.optim.Optimizer]:
        """Two Adams (paper 002 §IV-B: lr 2e-4): θ_D (+θ_C) and θ_G."""
        betas = (self.hp.adam_beta1, self.hp.adam_beta2)
        return {name: torch.optim.Adam(getattr(self, net).parameters(), lr=train_config.lr, betas=betas,
                                       weight_decay=train_config.weight_decay)
                for name, net in (("discriminator", "D"), ("generator", "G"))}

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        if unlabeled is None:
            raise ValueError(f"{self.name} needs unlabeled data (P_r of paper 002 eq. 4); give the corpus an "
                             "unlabeled pool, or train fsbase/mfsbase")
        hp, n_l, n_u = self.hp, len(labeled), len(unlabeled)
        x_l = random_crops(labeled.inputs, labeled.lengths, hp.crop_frames, self.pad_sides)
        x_u = random_crops(unlabeled.inputs, unlabeled.lengths, hp.crop_frames, self.pad_sides)
        device = labeled.index.device

        # --- D step: one forward over [x_l, x′ = x_u, x″ = x_u, G(z)] ---------------------------------
        with torch.no_grad():
            fake = self.G(uniform_noise(n_u, hp.noise_dim, device))
        logits, feats = self.D({g: torch.cat([x_l[g], x_u[g], x_u[g], fake[g]]) for g in x_l})
        l_lab, l_u1, l_u2, l_fake = logits.split([n_l, n_u, n_u, n_u])
        _, h_u1, h_u2, _ = feats.split([n_l, n_u, n_u, n_u])
        sup = soft_cross_entropy(l_lab, labeled.targets)
        if hp.sup_over_k_plus_1:
            sup = sup + real_loss(l_lab)
        real, fake_term = real_loss(l_u1), fake_loss(l_fake)
        ct = consistency_term(l_u1, l_u2, h_u1, h_u2, hp.ct_margin, hp.ct_feature_weight)
        d_loss = sup + real + fake_term + hp.ct_weight * ct
        self.step_optimizer("discriminator", d_loss)

        # --- G step: feature matching on D_, D frozen (its grads never move) ----------------------------
        critic = _unwrap(self.D)
        critic.requires_grad_(False)
        try:
            _, h_fake = critic(self.G(uniform_noise(n_u, hp.noise_dim, device)))
            with torch.no_grad():
                _, h_real = critic(x_u)
            g_loss = feature_matching_loss(h_fake, h_real)
            self.step_optimizer("generator", g_loss)
        finally:
            critic.requires_grad_(True)

        # the unlabeled part of L_dis by the generic names every run column reads (`train/run_columns.py`):
        # L_real + L_fake + λ·CT enter L_dis with weight 1 (λ is inside the term)
        unsup = real + fake_term + hp.ct_weight * ct
        return {"loss": d_loss.detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "sup_loss": sup.detach(), "unsup_loss": unsup.detach(), "unsup_weight": torch.tensor(1.0),
                "real_loss": real.detach(), "fake_loss": fake_term.detach(),
                "ct": ct.detach(), "p_fake_on_real": prob_fake(l_u1.detach()).mean(),
                "p_fake_on_fake": prob_fake(l_fake.detach()).mean()}

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return averaged_crop_logits(self.D, inputs, lengths or {}, self.hp.crop_frames, self.pad_sides)


@register
class MSSGAN(SSGAN):
    """Paper 002 §III-C: (G_a, D_a), (G_v, D_v), one shared z, fusion classifier C on D_a ⊕ D_v."""

    name = "mssgan"
    multimodal = True
