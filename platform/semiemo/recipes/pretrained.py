"""Weights for a method plan's `pretrained` requests (slot -> plain-data request), made or found here.

The caller resolves them before training (`fit_fold(..., pretrained=resolve_requests(...))`); a sweep's
driver does it once before its trials start, so no trial pre-trains inside its actor.
"""

from __future__ import annotations

from typing import Any

import torch

from semiemo.recipes.avspnet_pretrain import RECIPES, ensure_frontend
from semiemo.train.pretrained import PretrainedStore

KINDS = ("avspnet_frontend",)
PROXY_CHANCE = 0.5   # paper 004's proxies are binary (low / high arousal or valence)


def stored_entry(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> dict[str, Any]:
    """The store's entry for one request ({weights, spec, summary}); pre-trains a recipe on demand when missing."""
    kind = request.get("kind")
    if kind == "avspnet_frontend":
        return PretrainedStore(store_root).load(ensure_frontend(request, seed=seed, store_root=store_root))
    raise ValueError(f"unknown pretrained request kind {kind!r}; known: {list(KINDS)}")


def resolve(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> dict[str, torch.Tensor]:
    """Weights for one request; pre-trains a recipe on demand when missing."""
    return stored_entry(request, seed, store_root)["weights"]


def stored_requests(requests: dict[str, dict[str, Any]], seed: int = 0,
                    store_root: str | None = None) -> dict[str, dict[str, Any]]:
    """slot -> store entry for every request of a plan (`TrainingPlan.pretrained`), each resolved once."""
    return {slot: stored_entry(request, seed, store_root) for slot, request in requests.items()}


def resolve_requests(requests: dict[str, dict[str, Any]], seed: int = 0,
                     store_root: str | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """slot -> weights for every request of a plan (`TrainingPlan.pretrained`)."""
    return {slot: entry["weights"] for slot, entry in stored_requests(requests, seed, store_root).items()}


def teacher_accuracy(stored: dict[str, dict[str, Any]]) -> tuple[float, float]:
    """How well the labels a plan's pretrained weights were taught with agree with the hidden truth, or NaN.

    Paper 004's front-end learns from proxy labels (prosody arousal, transcript valence): their agreement
    with the corpus's hidden labels, measured when the front-end was pre-trained and kept in its stored
    summary, is the `teacher_informative` premise of every avspnet run that fine-tunes on it. `stored`:
    slot -> store entry (`stored_requests`). The mean over the slots, and its chance level (the proxies are
    binary: low/high, so 0.5, whatever the fine-tuning task's class count); (NaN, NaN) for a front-end made
    without proxies (the AE recipe) or none.
    """
    values = []
    for entry in stored.values():
        recipe, summary = (entry.get("spec") or {}).get("recipe"), entry.get("summary") or {}
        if RECIPES.get(recipe, (None,))[0] is None:     # AE (α = 1) or a front-end of unknown making: no teacher
            continue
        value = summary.get(f"{summary.get('proxy_used')}_proxy_accuracy")
        if value is not None and value == value:
            values.append(float(value))
    nan = float("nan")
    return (float(sum(values) / len(values)), PROXY_CHANCE) if values else (nan, nan)

