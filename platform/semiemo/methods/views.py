"""Weak and strong views of a batch's inputs, by name: the one place methods get them from.

Paper 003's weak view WA is dropout on the input features; its strong view SA is SpecAugment on
sequences (time masks on each row's real frames, head padding honoured) and random feature masking
on vectors (`augment.strong`). FixMatch, CMKT and DCMKT ask `Views(...)("weak" | "strong" | "none", ...)`
instead of each building the same three branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from semiemo.methods import augment

VIEW_NAMES = ("strong", "weak", "none")


def check_view(method: str, option: str, name: str) -> None:
    if name not in VIEW_NAMES:
        raise ValueError(f"{method} {option} must be one of {VIEW_NAMES}, got {name!r}")


@dataclass(frozen=True)
class Views:
    weak_dropout: float                                  # WA's dropout rate (paper 003 names dropout, no rate)
    pad_sides: dict[str, str] = field(default_factory=dict)   # sequence group -> "end" | "start"
    strong_policy: augment.StrongAugmentation = augment.StrongAugmentation()

    def __call__(self, name: str, inputs: dict[str, torch.Tensor],
                 lengths: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        if name == "strong":
            return augment.strong(inputs, self.strong_policy, lengths, self.pad_sides)
        if name == "weak":
            return augment.weak(inputs, self.weak_dropout)
        return inputs
