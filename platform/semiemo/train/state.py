"""One run's training state: what a checkpoint holds besides the weights, optimizers and streams.

`TrainState` is the trainer's bookkeeping (epoch, step, rows seen, training seconds, the best and the
best warm-up state, history, patience, early stop) with one `state_dict()` / `load_state_dict()`, so a
checkpoint is written and read from one list of fields. `select` is the checkpoint-selection rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def _no_best() -> dict[str, Any]:
    return {"epoch": 0, "score": -math.inf, "method": None, "val_metrics": {}}


@dataclass
class TrainState:
    epoch: int = 0                      # epochs completed (the next epoch's 0-based index)
    step: int = 0                       # optimizer steps completed
    samples: int = 0                    # labeled + unlabeled rows drawn by this rank
    train_time: float = 0.0             # training seconds (validation excluded)
    best: dict[str, Any] = field(default_factory=_no_best)           # 1-based epoch, score, weights, val metrics
    warmup_best: dict[str, Any] = field(default_factory=_no_best)    # the best before selection starts
    history: list[dict[str, float]] = field(default_factory=list)
    bad_epochs: int = 0                 # epochs since the best (patience), counted from selection on
    stopped_early: bool = False
    epoch_costs: list[tuple[float, int]] = field(default_factory=list)  # (seconds, steps) of this process's epochs

    CHECKPOINTED = ("epoch", "step", "samples", "train_time", "best", "warmup_best", "history", "bad_epochs",
                    "stopped_early")

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.CHECKPOINTED}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self.CHECKPOINTED:
            setattr(self, name, state[name])
        self.history = list(self.history)

    def select(self, score: float, val_metrics: dict[str, Any], weights: Any, selection_start: int,
               patience: int | None, epochs: int) -> bool:
        """After an epoch (`self.epoch` already 1-based for it): keep it if it beats the best and selection
        has started; count patience; decide the early stop. Returns whether it became the best."""
        selecting = self.epoch > selection_start
        improved = selecting and score > self.best["score"]
        if improved:
            self.best = {"epoch": self.epoch, "score": float(score), "val_metrics": val_metrics, "method": weights()}
            self.bad_epochs = 0
        elif selecting:
            self.bad_epochs += 1
        self.stopped_early = patience is not None and self.bad_epochs >= patience and self.epoch < epochs
        return improved

    def steady_step_s(self) -> float:
        """Per-step seconds over the epochs after the first: the cost a long run pays, without warm-up."""
        later = self.epoch_costs[1:]
        steps = sum(n for _, n in later)
        return sum(t for t, _ in later) / steps if steps else float("nan")
