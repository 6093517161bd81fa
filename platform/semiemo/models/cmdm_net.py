"""CMDM's network (paper 001): one DAE per modality and a classifier C on the concatenated latents.

One module, one forward, so DDP synchronises every gradient of a step (labeled and unlabeled rows go
through together). The classifier is the spec's §5.8 guess: concat -> 128 -> ReLU -> dropout 0.3 -> K.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from semiemo.models.autoencoders import build_dae, reconstruction_target

DAE_KIND = {"a": "acoustic", "v": "visual", "l": "lexical"}


class CMDMNet(nn.Module):
    """`forward(inputs)` -> (logits [B, K], latents {m: [B, d]}, reconstructions {m: [B, ...]}).

    `modalities` maps a modality letter (a, v, l) to the per-row input shape; the latents are
    concatenated in that order.
    """

    def __init__(self, modalities: Mapping[str, Sequence[int]], num_classes: int, latent: int = 128,
                 classifier_hidden: int = 128, classifier_dropout: float = 0.3, **sequence_kwargs) -> None:
        super().__init__()
        if not modalities:
            raise ValueError("CMDMNet needs at least one modality")
        self.order = list(modalities)
        self.daes = nn.ModuleDict({m: build_dae(shape, DAE_KIND[m], latent, **(sequence_kwargs if len(shape) == 2 else {}))
                                   for m, shape in modalities.items()})
        self.classifier = nn.Sequential(
            nn.Linear(latent * len(self.order), classifier_hidden), nn.ReLU(), nn.Dropout(classifier_dropout),
            nn.Linear(classifier_hidden, num_classes))

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        latents, recs = {}, {}
        for m in self.order:
            latents[m], recs[m] = self.daes[m](inputs[m])
        logits = self.classifier(torch.cat([latents[m] for m in self.order], dim=1))
        return logits, latents, recs

    def target(self, m: str, x: torch.Tensor) -> torch.Tensor:
        """Modality m's reconstruction target (time-reversed for sequences)."""
        return reconstruction_target(self.daes[m], x)
