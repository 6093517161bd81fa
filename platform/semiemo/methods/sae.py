"""Paper 000's SAE baseline: a DNN pre-trained as a stacked denoising auto-encoder (Vincent et al.
2010) on labeled + unlabeled rows, then fine-tuned on the labeled rows with its classifier head.

Phases by epoch (`info.epoch`, counted from 0):
  epoch < pretrain_epochs:  L = mean ||g(h(x̃)) − x||²  over labeled and unlabeled rows,
                            x̃ = x with a random share ν of features zeroed (masking noise)
  afterwards:               L = CE(head(h(x_l)), y)
h is the classifier's encoder (`embed` of `models.build_classifier`), g a mirrored ELU decoder, x the
pooled, concatenated input groups. The stack is trained jointly rather than greedily layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from semiemo import models
from semiemo.methods import augment
from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.plan import TrainingPlan
from semiemo.methods.registry import register
from semiemo.methods.ssl_math import concat_inputs, soft_cross_entropy
from semiemo.models.fusion import pooled_dim


@dataclass
class SAEHParams:
    pretrain_epochs: int = field(default=10, metadata={
        "doc": "epochs of auto-encoder pre-training before fine-tuning (paper 000 silent; a third of 30 epochs)"})
    corruption: float = field(default=0.25, metadata={
        "doc": "ν, share of input features zeroed by masking noise (Vincent et al. 2010 tried 0-0.5; 0.25 our choice)"})


class DenoisingAutoEncoderClassifier(nn.Module):
    """One module (one DDP wrapper): `forward(..., reconstruct=True)` decodes, else class logits."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.classifier = models.build_classifier(spec)
        self.groups = tuple(sorted(spec.input_shapes))
        in_dim = sum(pooled_dim(spec.input_shapes[g], spec.channel_axes.get(g, -1)) for g in self.groups)
        code_dim = self.classifier.head.in_features
        self.decoder = models.MLP(code_dim, tuple(reversed(spec.hidden[:-1])), in_dim, dropout=0.0)

    def flat_input(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """x: every group pooled to a vector, concatenated in sorted-name order (the classifier's rule)."""
        lengths = lengths or {}
        return torch.cat([self.classifier.pool(g, inputs, lengths) for g in self.groups], dim=1)

    def forward(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None,
                reconstruct: bool = False) -> torch.Tensor:
        code = self.classifier.embed(inputs, lengths)
        return self.decoder(code) if reconstruct else self.classifier.head(code)


@register
class SAE(Method):
    name = "sae"
    HParams = SAEHParams
    consumes_unlabeled = True
    trainable = ("model",)
    # Each phase leaves half the net unused (head while pre-training, decoder after): DDP must be told.

    def __init__(self, spec: ModelSpec, hparams: SAEHParams, num_unlabeled: int = 0) -> None:
        super().__init__(spec, hparams, num_unlabeled)
        self.model = DenoisingAutoEncoderClassifier(spec)

    @classmethod
    def plan(cls, hp: SAEHParams) -> TrainingPlan:
        # a state from pre-training has an untrained head; its phases train the decoder or the head
        return replace(super().plan(hp), selection_start_epoch=hp.pretrain_epochs, ddp_find_unused_parameters=True)

    def train_step(self, labeled: Batch, unlabeled: Batch | None, info: StepInfo) -> dict[str, torch.Tensor]:
        if info.num_epochs <= self.hp.pretrain_epochs:
            raise ValueError(f"sae: pretrain_epochs={self.hp.pretrain_epochs} leaves no fine-tuning epoch out of "
                             f"{info.num_epochs}; lower method_params.pretrain_epochs or raise train.epochs")
        if info.epoch >= self.hp.pretrain_epochs:
            sup_loss = soft_cross_entropy(self.model(labeled.inputs, labeled.lengths), labeled.targets)
            return {"loss": sup_loss, "sup_loss": sup_loss.detach()}
        inputs, lengths = labeled.inputs, labeled.lengths
        if unlabeled is not None:
            inputs = concat_inputs(labeled.inputs, unlabeled.inputs)
            lengths = concat_inputs(labeled.lengths, unlabeled.lengths)
        clean = self._unwrapped().flat_input(inputs, lengths)
        corrupted = {k: augment.random_feature_mask(v, self.hp.corruption) if v.is_floating_point() else v
                     for k, v in inputs.items()}
        recon_loss = ((self.model(corrupted, lengths, reconstruct=True) - clean) ** 2).mean()
        return {"loss": recon_loss, "recon_loss": recon_loss.detach()}

    def _unwrapped(self) -> DenoisingAutoEncoderClassifier:
        return getattr(self.model, "module", self.model)  # DDP keeps the module as `.module`

    @torch.no_grad()
    def predict(self, inputs: dict[str, torch.Tensor], lengths: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        return self.model(inputs, lengths)
