"""Paper 001's pool balancing, as configuration (its own file: `ExperimentConfig` holds it, and the
balancer itself builds on the trainer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UnlabeledBalanceConfig(BaseModel):
    """Re-sample the unlabeled pool to equal counts per class predicted by a vanilla classifier trained on
    the fold's labeled rows (paper 001 §4.1; see `semiemo.recipes.pool_balance`)."""

    model_config = ConfigDict(extra="forbid")

    method: str = "cmdm"
    method_params: dict[str, Any] = Field(default_factory=lambda: {"ablation": "vanilla", "use_unlabeled": False})
    epochs: int = 10                     # the vanilla model's training epochs
    per_class: int | None = None         # rows per predicted class; None: pool size / number of classes
