"""CMDM (paper 001, Liang, Li & Jin, MM 2020): semi-supervised multimodal emotion recognition by
cross-modal distribution matching of per-modality deep auto-encoder latents.

Per step, for the labeled batch (x^a, x^v, x^l, y) and an unlabeled batch (x̃^a, x̃^v, x̃^l):
    z^m, x̂^m = DAE_m(x^m)                                   (acoustic: linear; faces, words: transformer+conv)
    L_cls    = CE(C([z^a; z^v; z^l]), y)                     eq. 5
    L_rec    = Σ_m MSE(x̂^m, target(x^m))                    eq. 2 (target: the time-reversed sequence)
    L_pair   = Σ_{m≠a} MMD(z^a, z^m)                          eq. 3-4, group-wise (see methods.mmd)
    L_unpair = −Σ_{m≠a} MMD(z^a, z^m of other rows)           group-wise; `unpaired_mode: literal` cancels L_pair
    L^s      = L_cls + α·L_rec + β·(L_pair + L_unpair)        eq. 7
    L^u      = α·L^u_rec + β·(L^u_pair + L^u_unpair)          eq. 8 (no labels)
    L^semi   = L^s + ω·L^u                                    eq. 9
Acoustic is the anchor; without it the first modality present is. Ablations (Table 7) switch terms off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.mmd import paired_unpaired_mmd
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import concat_inputs, soft_cross_entropy
from semiemo.models.cmdm_net import CMDMNet

ABLATIONS = ("none", "no_mmd", "no_unpaired", "no_rec", "paired_only", "vanilla")


@dataclass
class CMDMHParams:
    alpha: float = field(default=0.2, metadata={"doc": "α, weight of the reconstruction loss (paper 001 eq. 7-8)"})
    beta: float = field(default=0.1, metadata={"doc": "β, weight of the paired+unpaired MMD (paper 001 eq. 7-8)"})
    omega: float = field(default=0.3, metadata={"doc": "ω, weight of the unsupervised part L^u (paper 001 eq. 9)"})
    modalities: str = field(default="avl", metadata={
        "doc": "modalities used, letters of a (acoustic), v (visual), l (lexical); Table 4 rows A..A+V+L"})
    acoustic_group: str = field(default="is10", metadata={"doc": "feature group of the acoustic modality (IS10, 1582-d)"})
    visual_group: str = field(default="face", metadata={"doc": "feature group of the visual modality (faces, F x 342)"})
    lexical_group: str = field(default="text_tokens", metadata={"doc": "feature group of the lexical modality (words, L x d)"})
    latent_dim: int = field(default=128, metadata={"doc": "size of each latent z^m (paper 001 Table 3)"})
    classifier_hidden: int = field(default=128, metadata={"doc": "hidden units of C (not given; spec §5.8)"})
    classifier_dropout: float = field(default=0.3, metadata={"doc": "dropout of C (not given; spec §5.8)"})
    transformer_heads: int = field(default=4, metadata={
        "doc": "h (paper 001 Table 3); lowered to the largest divisor of the width (342-d faces: 3)"})
    transformer_blocks: int = field(default=2, metadata={"doc": "b, transformer blocks per encoder/decoder (Table 3); 0 = conv-only DAEs (CPU quick runs)"})
    transformer_ffn: int = field(default=2048, metadata={"doc": "feed-forward width (not given; spec §5.7)"})
    transformer_dropout: float = field(default=0.1, metadata={"doc": "transformer dropout (not given; spec §5.7)"})
    mmd_sigma: float | None = field(default=None, metadata={
        "doc": "σ of the Gaussian kernel (not given); None = median heuristic (spec §5.2)"})
    mmd_group_size: int = field(default=32, metadata={"doc": "g, rows per group of the group-wise MMD (spec §5.1)"})
    unpaired_mode: str = field(default="groupwise", metadata={
        "doc": "'groupwise' (spec §5.1) or 'literal' (paper 001's in-batch shuffle, which cancels L_pair)"})
    ablation: str = field(default="none", metadata={
        "doc": "Table 7 / issue ablations: none | no_mmd | no_unpaired | no_rec | paired_only (MMD pair term "
               "alone, no rec) | vanilla (L_cls only)"})
    use_unlabeled: bool = field(default=True, metadata={"doc": "add ω·L^u (Ours-semi); False = Ours-fully (L^s only)"})


@register
class CMDM(Method):
    name = "cmdm"
    HParams = CMDMHParams
    consumes_unlabeled = True
    trainable = ("model",)

    def __init__(self, spec: ModelSpec, hparams: CMDMHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        if hparams.ablation not in ABLATIONS:
            raise ValueError(f"cmdm ablation must be one of {list(ABLATIONS)}, got {hparams.ablation!r}")
        if hparams.unpaired_mode not in ("groupwise", "literal"):
            raise ValueError(f"cmdm unpaired_mode must be 'groupwise' or 'literal', got {hparams.unpaired_mode!r}")
        letters = hparams.modalities.lower()
        if not letters or set(letters) - set("avl") or len(set(letters)) != len(letters):
            raise ValueError(f"cmdm modalities must be distinct letters of 'avl', got {hparams.modalities!r}")
        groups = {"a": hparams.acoustic_group, "v": hparams.visual_group, "l": hparams.lexical_group}
        self.groups = {m: groups[m] for m in "avl" if m in letters}
        missing = {m: g for m, g in self.groups.items() if g not in spec.input_shapes}
        if missing:
            raise ValueError(f"cmdm modalities {sorted(missing)} need feature groups {sorted(missing.values())}, which "
                             f"the data lacks (it has {sorted(spec.input_shapes)}); add them to `features` or set "
                             f"`modalities`/`*_group`")
        shapes = {m: spec.input_shapes[g] for m, g in self.groups.items()}
        self.anchor = next(iter(self.groups))
        self.model = CMDMNet(shapes, spec.num_classes, hparams.latent_dim, hparams.classifier_hidden,
                             hparams.classifier_dropout, heads=hparams.transformer_heads,
                             blocks=hparams.transformer_blocks, ffn=hparams.transformer_ffn,
                             dropout=hparams.transformer_dropout)
        self.reversed = {m: len(s) == 2 for m, s in shapes.items()}
        off = hparams.ablation
        self.rec_weight = 0.0 if off in ("no_rec", "paired_only", "vanilla") else hparams.alpha
        self.mmd_weight = 0.0 if off in ("no_mmd", "vanilla") else hparams.beta
        self.use_unpaired = off not in ("no_unpaired", "paired_only")

    def _inputs(self, batch_inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {m: batch_inputs[g] for m, g in self.groups.items()}

    def _target(self, m: str, x: torch.Tensor) -> torch.Tensor:
        return torch.flip(x, dims=[1]) if self.reversed[m] else x

    def unsupervised_terms(self, x: dict[str, torch.Tensor], z: dict[str, torch.Tensor],
                           rec: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """L_rec, L_pair, L_unpaired of one part of the batch (eq. 2-4); shared by eq. 7 and eq. 8."""
        rec_loss = sum(F.mse_loss(rec[m], self._target(m, x[m])) for m in self.groups)
        zero = rec_loss.new_zeros(())
        pair, unpaired = zero, zero
        for m in self.groups:
            if m == self.anchor or len(z[m]) < 4:
                continue
            p, u = paired_unpaired_mmd(z[self.anchor], z[m], group_size=self.hp.mmd_group_size,
                                       mode=self.hp.unpaired_mode, sigma=self.hp.mmd_sigma)
            pair, unpaired = pair + p, unpaired + u
        if not self.use_unpaired:
            unpaired = unpaired.detach() * 0.0  # logged as 0: the term is off
        return {"rec": rec_loss, "pair": pair, "unpaired": unpaired,
                "part": self.rec_weight * rec_loss + self.mmd_weight * (pair + unpaired)}

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        use_u = self.hp.use_unlabeled and unlabeled is not None and len(unlabeled) > 0
        x_l = self._inputs(labeled.inputs)
        x = concat_inputs(x_l, self._inputs(unlabeled.inputs)) if use_u else x_l
        logits, z, rec = self.model(x)  # one forward: DDP syncs every gradient of the step
        n = len(labeled)
        head = lambda d: {m: v[:n] for m, v in d.items()}  # noqa: E731
        tail = lambda d: {m: v[n:] for m, v in d.items()}  # noqa: E731

        cls = soft_cross_entropy(logits[:n], labeled.targets)
        sup = self.unsupervised_terms(x_l, head(z), head(rec))
        loss_s = cls + sup["part"]                                       # eq. 7
        out = {"cls": cls.detach(), "rec": sup["rec"].detach(), "pair": sup["pair"].detach(),
               "unpaired": sup["unpaired"].detach(), "loss_s": loss_s.detach()}
        loss = loss_s
        if use_u:
            uns = self.unsupervised_terms(tail(x), tail(z), tail(rec))
            loss = loss_s + self.hp.omega * uns["part"]                  # eq. 8-9
            out.update({"u_rec": uns["rec"].detach(), "u_pair": uns["pair"].detach(),
                        "u_unpaired": uns["unpaired"].detach(), "loss_u": uns["part"].detach(),
                        # the names every method reports its unlabeled term by (train/run_columns.py)
                        "unsup_loss": uns["part"].detach(), "unsup_weight": torch.tensor(self.hp.omega),
                        "sup_loss": loss_s.detach()})
        out["loss"] = loss
        return out

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(self._inputs(inputs))[0]

    @torch.no_grad()
    def latents(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """z^m per modality (diagnostics, e.g. collapse checks)."""
        return self.model(self._inputs(inputs))[1]
