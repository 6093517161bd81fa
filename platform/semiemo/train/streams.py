"""The labeled and the unlabeled stream, drawn together step by step.

Semi-supervised training takes, at every optimizer step, B labeled rows and μ·B unlabeled rows
(paper 003 eq. 4; FixMatch's μ). The two streams shuffle independently (each pass its own seeded
permutation), the unlabeled stream cycles across epochs, and an epoch is either one pass over the
labeled stream or `steps_per_epoch` steps (then the labeled stream cycles too).

Under data parallelism each of `world_size` workers takes every world_size-th row of the shared
permutation; the permutation is padded by wrapping around (as torch's DistributedSampler does) so
every worker runs the same number of steps — DDP hangs otherwise. `batch_size` is the *global*
labeled batch B: each worker draws ceil(B / world_size) rows, so one step of W workers sees what one
step of a single worker sees, and the learning rate means the same.

Tensors are built once from numpy (`TensorPool`); a batch is an `index_select`, no DataLoader workers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from semiemo.methods.base import Batch

if TYPE_CHECKING:
    from semiemo.train.pool_stream import StreamedPool


@dataclass
class Split:
    """One split of a fold as numpy arrays (what crosses the Ray object store).

    `targets` are class distributions [n, C] (one-hot, or vote distributions for fuzzy labels);
    None for unlabeled rows.
    """

    inputs: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    targets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values()))) if self.inputs else 0


class TensorPool:
    """A split's rows as tensors, built once; `batch(rows)` gathers a minibatch."""

    def __init__(self, split: Split, device: torch.device | str = "cpu") -> None:
        self.n = len(split)
        to_t = lambda a, dt: torch.tensor(np.asarray(a), dtype=dt, device=device)  # copies: object-store arrays are read-only  # noqa: E731
        self.inputs = {k: to_t(v, torch.float32) for k, v in split.inputs.items()}
        self.lengths = {k: to_t(v, torch.long) for k, v in split.lengths.items()}
        self.targets = None if split.targets is None else to_t(split.targets, torch.float32)
        self.labels = None if self.targets is None else self.targets.argmax(dim=1)
        self.device = torch.device(device)

    def __len__(self) -> int:
        return self.n

    def batch(self, rows: np.ndarray) -> Batch:
        idx = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        take = lambda t: None if t is None else t.index_select(0, idx)  # noqa: E731
        return Batch(
            inputs={k: v.index_select(0, idx) for k, v in self.inputs.items()},
            index=idx,
            targets=take(self.targets),
            labels=take(self.labels),
            lengths={k: v.index_select(0, idx) for k, v in self.lengths.items()},
        )

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every row once, in order (evaluation)."""
        for start in range(0, self.n, batch_size):
            yield self.batch(np.arange(start, min(start + batch_size, self.n)))


@dataclass(frozen=True)
class PoolRows:
    """Fixed rows of a pool, read in order with their pool row numbers as `Batch.index`: what the
    per-epoch oracle diagnostics predict when the pool is larger than `train.pool_diagnostic_rows`."""

    pool: Any   # TensorPool | StreamedPool
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(self.rows), batch_size):
            yield self.pool.batch(self.rows[start:start + batch_size])


def diagnostic_rows(n: int, limit: int | None, seed: int) -> np.ndarray | None:
    """The pool rows the oracle diagnostics read: None (all `n`) or a sorted random `limit` of them, the
    same every epoch and on every rank, so the curve follows the model, not the sample."""
    if limit is None or n <= limit:
        return None
    return np.sort(np.random.default_rng([seed, 0x0AC1E]).choice(n, size=limit, replace=False))


def shard_of_permutation(perm: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """Rows of `perm` for one worker: padded by wrap-around to a multiple of world_size, every world_size-th."""
    n = len(perm)
    per_worker = math.ceil(n / world_size)
    padded = np.resize(perm, per_worker * world_size)  # np.resize repeats from the start
    return padded[rank::world_size]


def block_permutation(block_sizes: list[int], seed: int, stream: int, pass_no: int, rank: int,
                      world_size: int) -> np.ndarray:
    """One worker's rows of pass `pass_no` over rows laid out in consecutive blocks (streamed pools).

    Blocks are shuffled, rows within each block shuffled; with at least `world_size` blocks each worker
    takes whole blocks (every world_size-th of the shuffled order: disjoint, read once per pass), else
    the shuffled rows are dealt out one by one. A single block is drawn exactly as `default_rng([seed,
    stream, pass]).permutation(n)` — the in-memory order — so both paths give the same batches."""
    offsets = np.concatenate([[0], np.cumsum(block_sizes)]).astype(np.int64)
    if len(block_sizes) == 1:
        return shard_of_permutation(np.random.default_rng([seed, stream, pass_no]).permutation(int(offsets[-1])),
                                    rank, world_size)
    order = np.random.default_rng([seed, stream, pass_no]).permutation(len(block_sizes))
    rows = lambda b: offsets[b] + np.random.default_rng([seed, stream, pass_no, int(b)]).permutation(block_sizes[b])  # noqa: E731
    if len(block_sizes) >= world_size:
        mine = [rows(b) for b in order[rank::world_size]]
        return np.concatenate(mine) if mine else np.zeros(0, np.int64)
    return shard_of_permutation(np.concatenate([rows(b) for b in order]), rank, world_size)


class ShuffledCycler:
    """Endless seeded shuffled passes over `n` rows (this worker's shard), in batches.

    Pass p uses the permutation `default_rng([seed, stream, p])`, so two streams with different
    `stream` ids shuffle independently and a pass is reproducible. With `span_passes=False` a batch
    never spans two passes (an epoch = one pass; the last batch may be smaller); with True every
    batch is full, continuing into the next pass (cycling streams keep their μ ratio). With
    `block_sizes` (a streamed pool) a pass is `block_permutation`'s.
    """

    def __init__(self, n: int, batch_size: int, seed: int, stream: int, rank: int = 0, world_size: int = 1,
                 span_passes: bool = False, count_visits: bool = False, block_sizes: list[int] | None = None) -> None:
        if n <= 0:
            raise ValueError(f"stream {stream} has no rows to draw from")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        self.n, self.batch_size, self.seed, self.stream = n, max(1, int(batch_size)), seed, stream
        self.rank, self.world_size = rank, world_size
        self.shard_size = math.ceil(n / world_size)
        self.batches_per_pass = math.ceil(self.shard_size / self.batch_size)
        self.pass_no, self.position = 0, 0
        self.span_passes = span_passes
        self._shard: np.ndarray | None = None
        # how often this worker drew each row (int32: 2 MB at 500k rows); None when not counted
        self.visits = np.zeros(n, np.int32) if count_visits else None
        self.block_sizes = list(block_sizes) if block_sizes else None
        if self.block_sizes is not None and sum(self.block_sizes) != n:
            raise ValueError(f"block sizes sum to {sum(self.block_sizes)}, not the stream's {n} rows")

    def shard(self, pass_no: int) -> np.ndarray:
        if self.block_sizes is not None:
            return block_permutation(self.block_sizes, self.seed, self.stream, pass_no, self.rank, self.world_size)
        perm = np.random.default_rng([self.seed, self.stream, pass_no]).permutation(self.n)
        return shard_of_permutation(perm, self.rank, self.world_size)

    def next_rows(self) -> np.ndarray:
        parts, wanted = [], self.batch_size
        while wanted > 0:
            if self._shard is None:
                self._shard = self.shard(self.pass_no)
            take = self._shard[self.position : self.position + wanted]
            parts.append(take)
            wanted -= len(take)
            self.position += len(take)
            if self.position >= len(self._shard):
                self.pass_no, self.position, self._shard = self.pass_no + 1, 0, None
            if not self.span_passes:
                break
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if self.visits is not None:
            np.add.at(self.visits, rows, 1)
        return rows

    def state_dict(self) -> dict:
        state: dict = {"pass_no": self.pass_no, "position": self.position}
        if self.visits is not None:
            state["visits"] = self.visits.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.pass_no, self.position, self._shard = int(state["pass_no"]), int(state["position"]), None
        if self.visits is not None and state.get("visits") is not None:
            self.visits[:] = state["visits"]


class TwoStreams:
    """Per step: (labeled Batch of ceil(B/W) rows, unlabeled Batch of μ·ceil(B/W) rows or None).

    The unlabeled batch is always full (the stream cycles); the labeled one is full except the last
    of a pass when an epoch is one labeled pass.
    """

    LABELED, UNLABELED = 0, 1  # stream ids: independent shuffles

    def __init__(self, labeled: TensorPool, unlabeled: "TensorPool | StreamedPool | None", batch_size: int, mu: int = 1,
                 seed: int = 0, rank: int = 0, world_size: int = 1, steps_per_epoch: int | None = None) -> None:
        if mu < 1:
            raise ValueError(f"μ (unlabeled/labeled batch ratio) must be >= 1, got {mu}")
        self.labeled, self.unlabeled = labeled, unlabeled
        local_batch = math.ceil(batch_size / world_size)
        self.labeled_rows = ShuffledCycler(len(labeled), local_batch, seed, self.LABELED, rank, world_size,
                                           span_passes=bool(steps_per_epoch))
        self.unlabeled_rows = None
        if unlabeled is not None and len(unlabeled) > 0:
            self.unlabeled_rows = ShuffledCycler(len(unlabeled), mu * local_batch, seed, self.UNLABELED, rank,
                                                 world_size, span_passes=True, count_visits=True,
                                                 block_sizes=getattr(unlabeled, "block_sizes", None))
        self._steps = steps_per_epoch

    def unlabeled_pass_steps(self) -> int:
        """Steps for one pass over this worker's shard of the unlabeled pool (0 without a pool)."""
        if self.unlabeled_rows is None:
            return 0
        return math.ceil(self.unlabeled_rows.shard_size / self.unlabeled_rows.batch_size)

    def set_steps_per_epoch(self, steps: int) -> None:
        """Fix the epoch length (the labeled stream then cycles across passes)."""
        self._steps = int(steps)
        self.labeled_rows.span_passes = True

    def unlabeled_visits(self) -> np.ndarray | None:
        """[N_u] how often this worker drew each unlabeled row so far."""
        return None if self.unlabeled_rows is None else self.unlabeled_rows.visits

    @property
    def steps_per_epoch(self) -> int:
        """The iteration budget, or one pass over this worker's labeled shard."""
        return int(self._steps) if self._steps else self.labeled_rows.batches_per_pass

    def steps(self) -> Iterator[tuple[None, Batch, Batch | None]]:
        """The next epoch's steps as (phase, labeled, unlabeled), the shape `PhasedStreams.steps` has."""
        for labeled, unlabeled in self.epoch():
            yield None, labeled, unlabeled

    def epoch(self) -> Iterator[tuple[Batch, Batch | None]]:
        for _ in range(self.steps_per_epoch):
            labeled_batch = self.labeled.batch(self.labeled_rows.next_rows())
            unlabeled_batch = None
            if self.unlabeled_rows is not None:
                unlabeled_batch = self.unlabeled.batch(self.unlabeled_rows.next_rows())  # type: ignore[union-attr]
            yield labeled_batch, unlabeled_batch

    def state_dict(self) -> dict:
        return {"labeled": self.labeled_rows.state_dict(),
                "unlabeled": None if self.unlabeled_rows is None else self.unlabeled_rows.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.labeled_rows.load_state_dict(state["labeled"])
        if self.unlabeled_rows is not None and state.get("unlabeled") is not None:
            self.unlabeled_rows.load_state_dict(state["unlabeled"])
