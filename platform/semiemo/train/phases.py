"""Phases over named streams: how the trainer runs a method's `PhasePlan` (e.g. paper 000's curriculum).

A method whose plan's epoch is a `PhasePlan` (`methods.plan`) declares named passes, each over
the labeled training rows a manifest column selects (`FoldData.train_columns`, e.g. `domain`),
optionally with an unlabeled batch per step. Per epoch, `PhasedStreams.steps()` first draws every
phase's row indices in phase order, then yields the steps phase after phase (`sequential`) or in one
seeded shuffle of all of them (`shuffled`) — so two plans that differ only in `order` see exactly the
same batches and the same number of updates, which is what paper 000's random-turn control needs.

Each phase's labeled rows shuffle independently (stream id 10 + phase position); the unlabeled
stream is shared by the phases that use it and cycles across epochs. Sharding under DDP is
`ShuffledCycler`'s; the shuffle of the step order depends on (seed, epoch) only, so every worker
runs the same phase at the same step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from semiemo.methods.base import Batch
from semiemo.methods.plan import Phase, PhasePlan
from semiemo.train.streams import ShuffledCycler, TensorPool

PHASE_STREAM_BASE = 10
UNLABELED_STREAM = 1  # the id TwoStreams uses for its unlabeled stream
ORDER_STREAM = 3


def select_rows(phase: Phase, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Positions of the labeled training rows a phase trains on."""
    keep = np.ones(n, dtype=bool)
    for conditions, include in ((phase.labeled_filter, True), (phase.labeled_exclude, False)):
        for column, values in (conditions or {}).items():
            if column not in columns:
                raise ValueError(f"phase {phase.name!r} selects rows by {column!r}, but the fold carries only "
                                 f"columns {sorted(columns)} (FoldData.train_columns)")
            hit = np.isin(np.asarray(columns[column]).astype(str), [str(v) for v in values])
            keep &= hit if include else ~hit
    return np.flatnonzero(keep)


class PhasedStreams:
    """Per step: (phase name, labeled Batch, unlabeled Batch or None)."""

    def __init__(self, plan: PhasePlan, labeled: TensorPool, columns: Mapping[str, np.ndarray],
                 unlabeled: TensorPool | None, batch_size: int, mu: int = 1, seed: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        if mu < 1:
            raise ValueError(f"μ (unlabeled/labeled batch ratio) must be >= 1, got {mu}")
        self.plan, self.labeled, self.unlabeled, self.seed = plan, labeled, unlabeled, seed
        local_batch = math.ceil(batch_size / world_size)
        has_unlabeled = unlabeled is not None and len(unlabeled) > 0
        self.unlabeled_rows = (ShuffledCycler(len(unlabeled), mu * local_batch, seed, UNLABELED_STREAM, rank,  # type: ignore[arg-type]
                                              world_size, span_passes=True, count_visits=True,
                                              block_sizes=getattr(unlabeled, "block_sizes", None))
                               if has_unlabeled and any(p.unlabeled for p in plan.phases) else None)
        self.entries: list[tuple[Phase, np.ndarray, ShuffledCycler, int]] = []
        for k, phase in enumerate(plan.phases):
            rows = select_rows(phase, columns, len(labeled))
            if len(rows) == 0:
                continue
            with_unlabeled = phase.unlabeled and self.unlabeled_rows is not None
            cycler = ShuffledCycler(len(rows), local_batch, seed, PHASE_STREAM_BASE + k, rank, world_size,
                                    span_passes=with_unlabeled)
            steps = self.unlabeled_rows.batches_per_pass if with_unlabeled else cycler.batches_per_pass  # type: ignore[union-attr]
            if phase.max_steps is not None:
                steps = min(steps, int(phase.max_steps))
            if steps > 0:
                self.entries.append((phase, rows, cycler, steps))
        if not self.entries:
            raise ValueError(f"no phase of {[p.name for p in plan.phases]} selects any training row")
        self.epochs_drawn = 0

    @property
    def steps_per_epoch(self) -> int:
        return sum(steps for *_, steps in self.entries)

    def phase_steps(self) -> dict[str, int]:
        """Steps per epoch of each phase that runs."""
        return {phase.name: steps for phase, _, _, steps in self.entries}

    def unlabeled_visits(self) -> np.ndarray | None:
        """[N_u] how often this worker drew each unlabeled row so far (the trainer's pool-coverage diagnostic)."""
        return None if self.unlabeled_rows is None else self.unlabeled_rows.visits

    def draw_epoch(self) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        """Every step's (phase, labeled rows, unlabeled rows) of the next epoch, in the order they run."""
        steps: list[tuple[str, np.ndarray, np.ndarray | None]] = []
        for phase, rows, cycler, n in self.entries:
            for _ in range(n):
                unl = self.unlabeled_rows.next_rows() if phase.unlabeled and self.unlabeled_rows is not None else None
                steps.append((phase.name, rows[cycler.next_rows()], unl))
        if self.plan.order == "shuffled":
            order = np.random.default_rng([self.seed, ORDER_STREAM, self.epochs_drawn]).permutation(len(steps))
            steps = [steps[i] for i in order]
        self.epochs_drawn += 1
        return steps

    def steps(self) -> Iterator[tuple[str, Batch, Batch | None]]:
        for name, rows, unl in self.draw_epoch():
            yield name, self.labeled.batch(rows), (None if unl is None else self.unlabeled.batch(unl))  # type: ignore[union-attr]

    def state_dict(self) -> dict:
        return {"epochs_drawn": self.epochs_drawn,
                "phases": {phase.name: cycler.state_dict() for phase, _, cycler, _ in self.entries},
                "unlabeled": None if self.unlabeled_rows is None else self.unlabeled_rows.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.epochs_drawn = int(state["epochs_drawn"])
        for phase, _, cycler, _ in self.entries:
            cycler.load_state_dict(state["phases"][phase.name])
        if self.unlabeled_rows is not None and state.get("unlabeled") is not None:
            self.unlabeled_rows.load_state_dict(state["unlabeled"])
