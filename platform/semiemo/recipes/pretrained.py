"""Weights for a method plan's `pretrained` requests (slot -> plain-data request), made or found here.

The caller resolves them before training (`fit_fold(..., pretrained=resolve_requests(...))`); a sweep's
driver does it once before its trials start, so no trial pre-trains inside its actor.
"""

from __future__ import annotations

from typing import Any

import torch

from semiemo.recipes.avspnet_pretrain import ensure_frontend
from semiemo.train.pretrained import PretrainedStore

KINDS = ("avspnet_frontend",)


def resolve(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> dict[str, torch.Tensor]:
    """Weights for one request; pre-trains a recipe on demand when missing."""
    kind = request.get("kind")
    if kind == "avspnet_frontend":
        key = ensure_frontend(request, seed=seed, store_root=store_root)
        return PretrainedStore(store_root).load(key)["weights"]
    raise ValueError(f"unknown pretrained request kind {kind!r}; known: {list(KINDS)}")


def resolve_requests(requests: dict[str, dict[str, Any]], seed: int = 0,
                     store_root: str | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """slot -> weights for every request of a plan (`TrainingPlan.pretrained`)."""
    return {slot: resolve(request, seed, store_root) for slot, request in requests.items()}
