"""An unlabeled pool read block by block from the feature store instead of held in memory.

A 500k-utterance pool of IS10 functionals is 3.2 GB of float32 per worker; a worker must not hold it.
When the pool is larger than `TrainConfig.unlabeled_memory_budget_mb`, the trainer reads it as blocks
— the feature store's own shards (fixed slices of the pool manifest, sorted by utt_id), optionally
preceded by one in-memory block (the target corpus' own unlabeled rows) — keeping at most a couple of
blocks decoded at a time. The order rows are drawn in is `streams.block_permutation`: blocks shuffled
per pass, rows shuffled within a block, workers taking disjoint blocks; a pool of one block is drawn
in exactly the order of the in-memory path, so the two paths give the same batches for the same seed.

Normalization is fitted on the pool by streaming (`StandardScaler.partial_fit`, block by block) and
applied as each block is decoded. `StoredPool` is what crosses the Ray object store: paths, utt_ids
and scalers, never feature arrays of the store blocks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch

from semiemo.methods.base import Batch

BYTES_PER_MB = 1 << 20


@dataclass
class StoredBlock:
    """One store shard's pool rows: which utt_ids (as stored: the ids of the row's own corpus), and
    where that shard lives (featurizer -> entry path: each corpus of a joined pool has its own entries)."""

    shard: str                 # shard file name, the same in every featurizer's entry of one corpus
    utt_ids: np.ndarray        # object array, in shard order
    entries: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredPool:
    """Where an external pool's features live, and how its rows become model inputs (picklable)."""

    store_uri: str
    groups: dict[str, tuple[str, str]]                # group -> (featurizer, stored field)
    lengths: dict[str, tuple[str, str]]               # group -> (featurizer, stored length field)
    dtypes: dict[str, dict[str, Any]]                 # featurizer -> field -> FieldSpec
    blocks: list[StoredBlock]
    oracle_labels: np.ndarray                         # [N] label strings of the pool (None unknown), pool order
    bytes_per_row: int = 0

    def __len__(self) -> int:
        return int(sum(len(b.utt_ids) for b in self.blocks))

    @property
    def nbytes(self) -> int:
        return len(self) * self.bytes_per_row

    def read_block(self, b: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Raw (unnormalized) inputs and lengths of block `b`, rows in the block's utt_id order."""
        from semiemo.features.store import FeatureStore, decode_column

        store = FeatureStore(self.store_uri)
        block = self.blocks[b]
        wanted = pd.Index(block.utt_ids)
        inputs: dict[str, np.ndarray] = {}
        lengths: dict[str, np.ndarray] = {}
        by_featurizer: dict[str, list[tuple[str, str, bool]]] = {}
        for group, (fz, fld) in self.groups.items():
            by_featurizer.setdefault(fz, []).append((group, fld, False))
        for group, (fz, fld) in self.lengths.items():
            by_featurizer.setdefault(fz, []).append((group, fld, True))
        for fz, wanted_fields in by_featurizer.items():
            path = f"{block.entries[fz]}/{block.shard}"
            columns = sorted({f for _, f, _ in wanted_fields})
            table = pq.read_table(path, filesystem=store.fs, columns=["utt_id", *columns])
            pos = pd.Index(table.column("utt_id").to_numpy(zero_copy_only=False)).get_indexer(wanted)
            if (pos < 0).any():
                raise RuntimeError(f"store shard {path} lacks {int((pos < 0).sum())} pool row(s) it held when the "
                                   "pool was opened; was the store entry deleted or rewritten meanwhile?")
            table = table.take(pos)
            for group, fld, is_length in wanted_fields:
                arr = decode_column(table.column(fld), self.dtypes[fz][fld])
                (lengths if is_length else inputs)[group] = arr
        return inputs, lengths


def open_stored_pool(parts: list[Any], pool_manifest: pd.DataFrame, featurizers: list[Any], store_uri: str | None,
                     groups: list[str]) -> StoredPool:
    """The pool's blocks: per corpus of the pool (`corpora.unlabeled_pool.PoolPart`, featurized under its own
    store key — featurize first), its rows present in every featurizer's entry, by store shard."""
    from semiemo.corpora.manifest import manifest_hash
    from semiemo.corpora.unlabeled_pool import POOL_COLUMN, SOURCE_ID_COLUMN
    from semiemo.features import field_layout
    from semiemo.features.store import FeatureStore, store_key

    store = FeatureStore(store_uri)
    group_map, length_map, dtypes = {}, {}, {}
    blocks: list[StoredBlock] = []
    oracle_parts: list[np.ndarray] = []
    bytes_per_row = 0
    for part in parts:
        mhash = manifest_hash(part.manifest)
        entries: dict[str, str] = {}
        shard_rows: dict[str, pd.Index] = {}
        for f in featurizers:
            entry = store.entry(store_key(mhash, f))
            specs = entry.field_specs()
            if not specs:
                raise RuntimeError(f"the store has no features {f.name!r} for {part.spec!r} of the unlabeled pool; "
                                   "featurize it first")
            entries[f.name], dtypes[f.name] = entry.path, specs
            layout = field_layout(f, {k: np.dtype("bool") if v.dtype == "bool" else np.dtype(v.dtype)
                                      for k, v in specs.items() if v.dtype not in ("str", "string")})
            for group, fld in layout.groups.items():
                if group in groups and group not in group_map:
                    group_map[group] = (f.name, fld)
                    bytes_per_row += int(np.prod(specs[fld].shape or (1,))) * 4
                    if layout.length_field is not None and group == f.name:
                        length_map[group] = (f.name, layout.length_field)
            done = {p.rsplit("/", 1)[-1] for p in entry.shard_paths()}
            for path in entry.shard_paths():
                shard = path.rsplit("/", 1)[-1]
                ids = pd.Index(pq.read_table(path, filesystem=store.fs, columns=["utt_id"]).column("utt_id")
                               .to_numpy(zero_copy_only=False))
                shard_rows[shard] = ids if shard not in shard_rows else shard_rows[shard].intersection(ids, sort=False)
            for shard in list(shard_rows):  # a shard some featurizer lacks entirely has no usable rows
                if shard not in done:
                    shard_rows.pop(shard)
        rows = pool_manifest[pool_manifest[POOL_COLUMN] == part.name]
        truth = (rows.set_index(rows[SOURCE_ID_COLUMN].astype(str))["oracle_label"]
                 if "oracle_label" in rows.columns else None)
        for shard, ids in sorted(shard_rows.items()):
            if len(ids):
                block = StoredBlock(shard, np.asarray(sorted(ids), dtype=object), dict(entries))
                blocks.append(block)
                oracle_parts.append(truth.reindex(block.utt_ids).to_numpy(dtype=object) if truth is not None
                                    else np.full(len(block.utt_ids), None, object))
    missing = sorted(set(groups) - set(group_map))
    if missing:
        raise ValueError(f"feature group(s) {missing} are not produced by {[f.name for f in featurizers]}")
    oracle = np.concatenate(oracle_parts) if oracle_parts else np.zeros(0, object)
    return StoredPool(store.uri, group_map, length_map, dtypes, blocks, oracle, bytes_per_row)


@dataclass
class PoolView:
    """The rows one fold draws: an optional in-memory head block, then chosen rows of stored blocks.

    `selected[b]` are row positions inside stored block b (sorted); `scalers` map group -> the
    unlabeled z-score (None: raw). Block 0 is the in-memory head when `head` is given."""

    stored: StoredPool
    selected: list[np.ndarray]
    head: dict[str, np.ndarray] | None = None          # normalized inputs of in-memory pool rows
    head_lengths: dict[str, np.ndarray] = field(default_factory=dict)
    scalers: dict[str, Any] = field(default_factory=dict)
    layouts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def block_sizes(self) -> list[int]:
        head = [len(next(iter(self.head.values())))] if self.head else []
        return head + [len(s) for s in self.selected]

    def __len__(self) -> int:
        return int(sum(self.block_sizes()))

    def read(self, b: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Normalized inputs and lengths of view block `b`."""
        from semiemo.normalization import apply_zscore

        if self.head:
            if b == 0:
                return self.head, self.head_lengths
            b -= 1
        raw, lengths = self.stored.read_block(b)
        rows = self.selected[b]
        lengths = {g: v[rows] for g, v in lengths.items()}
        inputs = {}
        for g, x in raw.items():
            x = x[rows]
            scaler = self.scalers.get(g)
            inputs[g] = (x if scaler is None else apply_zscore(scaler, x, lengths.get(g), **self.layouts.get(g, {}))
                         ).astype(np.float32, copy=False)
        return inputs, lengths


def stream_fit(view_blocks: Iterator[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]], groups: list[str],
               layouts: dict[str, dict[str, Any]], scalers: dict[str, Any] | None = None) -> dict[str, Any]:
    """StandardScalers of `groups` fitted (or updated, `scalers`) block by block over raw pool rows."""
    from sklearn.preprocessing import StandardScaler

    from semiemo.normalization import _frames

    scalers = dict(scalers or {})
    for inputs, lengths in view_blocks:
        for g in groups:
            x = inputs[g]
            scaler = scalers.setdefault(g, StandardScaler())
            for frames in _frames(x, np.arange(len(x)), lengths.get(g), **layouts.get(g, {})):
                if len(frames):
                    scaler.partial_fit(frames)
    return scalers


class StreamedPool:
    """The TensorPool of a streamed pool: `batch(rows)` decodes the blocks those rows live in (LRU cache)."""

    def __init__(self, view: PoolView, device: torch.device | str = "cpu", cache_blocks: int = 2) -> None:
        self.view = view
        self.device = torch.device(device)
        self.block_sizes = view.block_sizes()
        self.offsets = np.concatenate([[0], np.cumsum(self.block_sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.cache_blocks = max(1, cache_blocks)
        self._cache: OrderedDict[int, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = OrderedDict()
        self.blocks_read = 0

    def __len__(self) -> int:
        return self.n

    def _block(self, b: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        if b in self._cache:
            self._cache.move_to_end(b)
            return self._cache[b]
        inputs, lengths = self.view.read(b)
        tensors = ({k: torch.as_tensor(np.array(v, dtype=np.float32), device=self.device) for k, v in inputs.items()},
                   {k: torch.as_tensor(np.asarray(v), dtype=torch.long, device=self.device) for k, v in lengths.items()})
        self._cache[b] = tensors
        self.blocks_read += 1
        while len(self._cache) > self.cache_blocks:
            self._cache.popitem(last=False)
        return tensors

    def batch(self, rows: np.ndarray) -> Batch:
        rows = np.asarray(rows, dtype=np.int64)
        block_of = np.searchsorted(self.offsets, rows, side="right") - 1
        parts_in: dict[str, list[torch.Tensor]] = {}
        parts_len: dict[str, list[torch.Tensor]] = {}
        order = []
        for b in dict.fromkeys(block_of.tolist()):  # blocks in first-use order
            sel = np.flatnonzero(block_of == b)
            local = torch.as_tensor(rows[sel] - self.offsets[b], device=self.device)
            inputs, lengths = self._block(b)
            for k, v in inputs.items():
                parts_in.setdefault(k, []).append(v.index_select(0, local))
            for k, v in lengths.items():
                parts_len.setdefault(k, []).append(v.index_select(0, local))
            order.append(sel)
        back = torch.as_tensor(np.argsort(np.concatenate(order)), device=self.device)  # restore the rows' order
        return Batch(inputs={k: torch.cat(v).index_select(0, back) for k, v in parts_in.items()},
                     index=torch.as_tensor(rows, device=self.device),
                     lengths={k: torch.cat(v).index_select(0, back) for k, v in parts_len.items()})

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, self.n, batch_size):
            yield self.batch(np.arange(start, min(start + batch_size, self.n)))


def pool_memory_mb(n_rows: int, bytes_per_row: int) -> float:
    return n_rows * bytes_per_row / BYTES_PER_MB
