"""Weak and strong views of a batch's inputs, by name: the one place methods get them from.

Two sources, one interface. When the run has stored audio views (`semiemo featurize --views K
--augment weak|strong`, then `train --views weak:K,strong:K`), the trainer attaches to each batch, per
policy, one stored view of every row drawn for this step (`Batch.stored_views`, drawn by
`train.view_bank`): a view that changed the signal the way the world does (speed, pitch, room, codec,
noise), featurized. Rows without stored views, groups the views do not cover, and runs without stored
views get the feature-space view (`methods.augment`), which is what every run got before.

Feature-space views: paper 003's weak view WA is dropout on the input features; its strong view SA
is SpecAugment on sequences (time masks on each row's real frames, head padding honoured) and random
feature masking on vectors (`augment.strong`). FixMatch, CMKT and DCMKT ask
`Views(...).of("weak" | "strong" | "none", batch)`; methods whose views are Gaussian input noise
(mean teacher, Π-model, MixMatch) ask `noisy(batch, σ, policy, draw)`: the stored view of `policy`
where there is one, else the noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from semiemo.methods import augment
from semiemo.methods.base import Batch

VIEW_NAMES = ("strong", "weak", "none")
STORED_POLICIES = ("weak", "strong")  # the audio-view policies a run may have stored (features.augment_policies)

Inputs = dict[str, torch.Tensor]


def check_view(method: str, option: str, name: str) -> None:
    if name not in VIEW_NAMES:
        raise ValueError(f"{method} {option} must be one of {VIEW_NAMES}, got {name!r}")


def check_stored_policy(method: str, option: str, name: str) -> None:
    if name not in STORED_POLICIES:
        raise ValueError(f"{method} {option} must be one of {STORED_POLICIES}, got {name!r}")


def stored_or(policy: str, batch: Batch, fallback: Callable[[Inputs], Inputs], draw: int = 0) -> Inputs:
    """The batch's inputs seen through a stored audio view of `policy` (draw `draw`, cycling over the
    draws the trainer made), row by row where the row has one; `fallback(inputs)` everywhere else."""
    stored = batch.stored_views.get(policy)
    if stored is None or not stored.draws:
        return fallback(batch.inputs)
    view = stored.draws[draw % len(stored.draws)]
    complete = bool(stored.present.all()) and all(g in view for g in batch.inputs if batch.inputs[g].is_floating_point())
    if complete:
        return {g: view.get(g, x) if x.is_floating_point() else x for g, x in batch.inputs.items()}
    made = fallback(batch.inputs)
    out: Inputs = {}
    for g, x in made.items():
        if g not in view:
            out[g] = x
            continue
        keep = stored.present.reshape(-1, *([1] * (x.dim() - 1)))
        out[g] = torch.where(keep, view[g].to(x.dtype), x)
    return out


def noisy(batch: Batch, std: float, policy: str = "weak", draw: int = 0) -> Inputs:
    """A noisy view of the batch: its stored audio view of `policy` where stored, else + N(0, σ²)."""
    return stored_or(policy, batch, lambda inputs: augment.add_noise(inputs, std), draw)


@dataclass(frozen=True)
class Views:
    weak_dropout: float                                  # WA's dropout rate (paper 003 names dropout, no rate)
    pad_sides: dict[str, str] = field(default_factory=dict)   # sequence group -> "end" | "start"
    strong_policy: augment.StrongAugmentation = augment.StrongAugmentation()

    def __call__(self, name: str, inputs: dict[str, torch.Tensor],
                 lengths: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """The feature-space view `name` of `inputs`."""
        if name == "strong":
            return augment.strong(inputs, self.strong_policy, lengths, self.pad_sides)
        if name == "weak":
            return augment.weak(inputs, self.weak_dropout)
        return inputs

    def of(self, name: str, batch: Batch, draw: int = 0) -> dict[str, torch.Tensor]:
        """View `name` of a batch: its stored audio view of that policy where stored, else the feature-space one."""
        if name == "none":
            return batch.inputs
        lengths = batch.lengths if name == "strong" else None
        return stored_or(name, batch, lambda inputs: self(name, inputs, lengths), draw)


def noisy_concat(labeled: Batch, unlabeled: Batch | None, std: float, policy: str = "weak", draw: int = 0) -> Inputs:
    """`noisy` of the labeled rows followed by the unlabeled rows (one forward pass over both, as the
    Π-model and mean teacher take it). Without stored views: noise on the concatenation, as before."""
    from semiemo.methods.ssl_math import concat_inputs

    if unlabeled is None:
        return noisy(labeled, std, policy, draw)
    if policy not in labeled.stored_views and policy not in unlabeled.stored_views:
        return augment.add_noise(concat_inputs(labeled.inputs, unlabeled.inputs), std)
    return concat_inputs(noisy(labeled, std, policy, draw), noisy(unlabeled, std, policy, draw))
