"""Paper 002's baselines on SSGAN's own backbone: FSBase, MFSBase and SSBase.

- FSBase: the discriminator alone (conv trunk + K-way FC, dropout 0.2) trained on L_sup only.
- MFSBase: the per-modality trunks + fusion classifier C, L_sup only.
- SSBase: FSBase pseudo-labels the unlabeled pool once, keeps rows with max-prob ≥ τ, and is fine-tuned
  on labeled ∪ kept rows (`pseudo_label`'s offline algorithm on this backbone).
The MLP `supervised` method is the "MLP FSBase" variant (a deviation from the paper's backbone).
"""

from __future__ import annotations

from dataclasses import dataclass

from semiemo.methods.base import Method, ModelSpec
from semiemo.methods.pseudo_label import PseudoLabel, PseudoLabelHParams
from semiemo.methods.registry import register
from semiemo.methods.ssgan import DCGANBackboneHParams, build_critic
from semiemo.methods.supervised import Supervised, SupervisedHParams
from semiemo.models.crops import CropClassifier


@dataclass
class FSBaseHParams(DCGANBackboneHParams, SupervisedHParams):
    pass


@dataclass
class SSBaseHParams(DCGANBackboneHParams, PseudoLabelHParams):
    pass


def _crop_model(spec: ModelSpec, hp: DCGANBackboneHParams, name: str, multimodal: bool) -> CropClassifier:
    return CropClassifier(build_critic(spec, hp, name, multimodal), hp.crop_frames, getattr(spec, "pad_sides", {}) or {})


@register
class FSBase(Supervised):
    name = "fsbase"
    HParams = FSBaseHParams
    multimodal = False

    def __init__(self, spec: ModelSpec, hparams: FSBaseHParams, num_unlabeled: int = 0) -> None:
        Method.__init__(self, spec, hparams, num_unlabeled)
        self.model = _crop_model(spec, hparams, self.name, self.multimodal)


@register
class MFSBase(FSBase):
    name = "mfsbase"
    multimodal = True


@register
class SSBase(PseudoLabel):
    name = "ssbase"
    HParams = SSBaseHParams

    def __init__(self, spec: ModelSpec, hparams: SSBaseHParams, num_unlabeled: int = 0) -> None:
        if hparams.online:
            raise ValueError("ssbase labels the pool once (paper 002); online=True is pseudo_label's Lee-2013 variant")
        super().__init__(spec, hparams, num_unlabeled)
        self.model = _crop_model(spec, hparams, self.name, multimodal=False)
