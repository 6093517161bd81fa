"""Featurize a manifest into the feature store with Ray Data, streaming, resumable, row-fault-tolerant.

The unit of work is a *block*: a fixed slice of the manifest sorted by `utt_id` (see `store`). The
driver lists the blocks whose shard is missing for some requested featurizer and turns each into one
small spec row; `ray.data.from_items(specs).map_batches(...)` runs one task per block that reads (or
renders) the audio, applies the featurizers, writes the block's shard + errors atomically from the
worker and returns only a summary row. The driver therefore never holds features, its memory does
not grow with the corpus, and a rerun after a crash computes exactly the missing blocks.

CPU-bound featurizers run as Ray tasks; model-backed ones (a loaded network: text embeddings,
self-supervised speech) run in an actor pool so each actor loads its model once (`concurrency`,
`num_gpus`). `jobs.ray_runtime.init_ray` starts Ray locally or joins `$RAY_ADDRESS` / `address`.

Row failures never stop a run: unusable audio is an `audio` error with its reason
(`audio_io.AudioError`), a featurizer that raises on a batch is re-run row by row and each failing
row becomes a `<featurizer>` error. A featurizer that fails on *every* row of a block (two or more
rows) is broken, not the data: that raises, the run stops, and a rerun resumes from the last shard.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from semiemo.errors import OneLineError
from semiemo.features.audio_io import AudioError, AudioOptions, load_row_audio
from semiemo.features.base import Featurizer, FieldSpec, config_hash
from semiemo.features.progress import ProgressLines
from semiemo.features.store import FeatureStore, StoreEntry, encode_table, schema_to_json, store_key

AUDIO_COLUMNS = ("utt_id", "path", "synth_config", "synth_index")


@dataclass(frozen=True)
class PipelineOptions:
    """Scheduling knobs; none of them changes a feature value, so none is part of a store key."""

    block_size: int = 256  # manifest rows per shard = per task; an existing store entry keeps its own
    batch_size: int = 64  # rows per featurizer call inside a block
    blocks_per_task: int = 4  # blocks one CPU task featurizes in turn, each shard written as it finishes (see below)
    num_cpus: float = 1.0  # CPUs per CPU-featurizer task
    model_concurrency: int | tuple[int, int] = 1  # actors for model-backed featurizers (n or (min, max))
    model_num_cpus: float = 1.0
    model_num_gpus: float | None = None  # None: 1 per actor when the cluster has GPUs, else 0
    min_seconds: float = 0.1  # shorter audio is a `too_short` error
    base_dir: str | None = None  # relative `path`s resolve here (default: manifest.attrs["root"])
    progress: bool = True  # Ray Data's progress bars
    progress_lines: bool | None = None  # plain 'rows done, rows/s, ETA' lines; None: when stdout is not a terminal
    progress_every_s: float = 5.0  # seconds between those lines


@dataclass
class FeaturizerCounts:
    key: str
    ok: int = 0
    flagged: int = 0
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    flags_by_reason: dict[str, int] = field(default_factory=dict)  # audio repairs, e.g. resampled:22050
    blocks_total: int = 0
    blocks_computed: int = 0  # in this run; the rest were already in the store

    @property
    def errors(self) -> int:
        return sum(self.errors_by_reason.values())


@dataclass
class FeaturizeReport:
    """What `featurize` did: per featurizer, store totals plus how many blocks this run computed."""

    manifest_hash: str
    store_uri: str
    rows: int
    featurizers: dict[str, FeaturizerCounts]
    seconds: float
    blocks_by_node: dict[str, int] = field(default_factory=dict)  # Ray node id -> blocks it computed in this run

    def lines(self) -> list[str]:
        out = [f"manifest {self.manifest_hash}: {self.rows} rows -> {self.store_uri} ({self.seconds:.1f} s)"]
        for name, c in self.featurizers.items():
            reasons = ", ".join(f"{r}={n}" for r, n in sorted(c.errors_by_reason.items())) or "none"
            flags = ", ".join(f"{r}={n}" for r, n in sorted(c.flags_by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(f"  {name:<14} ok={c.ok} flagged={c.flagged}{f' ({flags})' if flags else ''} "
                       f"errors={c.errors} ({reasons}) blocks computed {c.blocks_computed}/{c.blocks_total}  [{c.key}]")
        return out


class FeaturesNotStored(OneLineError):
    """`featurize(..., stored_only=True)` found blocks missing: the caller promised they were stored. Raised
    instead of starting Ray Data where that would wait forever (inside a Ray task that holds the CPUs its
    featurizing tasks need)."""


class FeaturizerFailed(OneLineError):
    """A featurizer failed on every row of a block: a bug or a missing resource, not bad data. The worker returns
    it as a summary row (`FAILURE`) and the driver raises it: an exception raised inside a Ray Data task reaches
    the driver as Ray's UserCodeException, a traceback with this message buried in it."""


FAILURE = "failure"   # summary column: the FeaturizerFailed message of a block ('' for a finished block)


def featurize(
    manifest: pd.DataFrame,
    featurizers: Sequence[str | Featurizer],
    store_root: str | None = None,
    address: str | None = None,
    options: PipelineOptions | None = None,
    *,
    stored_only: bool = False,
    **overrides: Any,
) -> FeaturizeReport:
    """Fill the store with `featurizers` applied to `manifest`; compute only missing blocks.

    featurizers: names (built with `features.registry.make_featurizer`) or featurizer objects.
    stored_only: every block must already be stored; a missing one raises `FeaturesNotStored` (naming the
        featurizers and counts) instead of starting Ray Data. When all are stored, no Ray work starts either way.
    overrides: any `PipelineOptions` field, e.g. `block_size=128, batch_size=32`.
    """
    started = time.perf_counter()
    options = replace(options or PipelineOptions(), **overrides)
    fzs = [resolve_featurizer(f) for f in featurizers]
    _check_columns(manifest, fzs)
    ordered = _sorted_manifest(manifest, _needed_columns(manifest, fzs))
    base_dir = options.base_dir or manifest.attrs.get("root")
    options = replace(options, base_dir=str(base_dir) if base_dir else None)

    from semiemo.corpora.manifest import manifest_hash

    mhash = manifest_hash(manifest)
    store = FeatureStore(store_root)
    entries = [store.entry(store_key(mhash, f)) for f in fzs]
    block_sizes = [_open_entry(e, f, mhash, len(ordered), options.block_size) for e, f in zip(entries, fzs)]

    # one Ray Data pass per (block size, kind); usually exactly one
    work: dict[tuple[int, bool], dict[int, list[int]]] = {}
    for i, (entry, f, bs) in enumerate(zip(entries, fzs, block_sizes)):
        done = entry.done_blocks()
        for b in range(_n_blocks(len(ordered), bs)):
            if b not in done:
                work.setdefault((bs, _is_model_backed(f)), {}).setdefault(b, []).append(i)
    if stored_only and work:
        missing = Counter(fzs[i].name for blocks in work.values() for which in blocks.values() for i in which)
        raise FeaturesNotStored(
            f"features of manifest {mhash} are not all in {store.uri}: missing blocks "
            + ", ".join(f"{name}={n}" for name, n in sorted(missing.items()))
            + " — featurize them first (`semiemo featurize`, or on the driver before launching tasks)")
    computed: Counter[int] = Counter()
    todo = sum(_block_rows(len(ordered), bs, b) for (bs, _), blocks in work.items() for b in blocks)
    show = options.progress_lines if options.progress_lines is not None else not sys.stdout.isatty()
    by_node: Counter[str] = Counter()
    with ProgressLines(todo, every_s=options.progress_every_s, enabled=show and todo > 0) as progress:
        for (bs, model_backed), blocks in sorted(work.items()):
            seen: set[int] = set()
            for summary in _run_blocks(ordered, blocks, bs, model_backed, fzs, entries, store, options, address):
                computed[summary["featurizer_index"]] += 1
                by_node[str(summary.get("node", ""))] += 1
                if summary["block"] not in seen:  # a block's rows count once, whatever its featurizers
                    seen.add(summary["block"])
                    progress.advance(_block_rows(len(ordered), bs, summary["block"]))

    counts = {}
    for i, (entry, f, bs) in enumerate(zip(entries, fzs, block_sizes)):
        meta = entry.meta() or {}
        if computed[i] or not meta.get("complete") or "flags_by_reason" not in meta.get("counts", {}):
            c = entry.counts()  # read back from the store: totals over this run and earlier ones
            meta.update(counts=c, complete=c["blocks_done"] == _n_blocks(len(ordered), bs), updated=time.time())
            entry.write_meta(meta)
        c = meta["counts"]
        counts[f.name] = FeaturizerCounts(key=str(entry.key), ok=c["ok"], flagged=c["flagged"],
                                          errors_by_reason=c["errors_by_reason"], flags_by_reason=c["flags_by_reason"],
                                          blocks_total=_n_blocks(len(ordered), bs), blocks_computed=computed[i])
    return FeaturizeReport(mhash, store.uri, len(ordered), counts, time.perf_counter() - started, dict(by_node))


# ------------------------------------------------------------------------------------------------
# driver side
# ------------------------------------------------------------------------------------------------


def resolve_featurizer(f: str | Featurizer) -> Featurizer:
    """A featurizer object from a registry name (or the object itself)."""
    if isinstance(f, str):
        from semiemo.features.registry import make_featurizer

        return make_featurizer(f)
    return f


def _is_model_backed(f: Featurizer) -> bool:
    return bool(getattr(f, "model_backed", False))


def _check_columns(manifest: pd.DataFrame, fzs: list[Featurizer]) -> None:
    if "utt_id" not in manifest.columns:
        raise ValueError("manifest has no 'utt_id' column; every row needs a unique utt_id")
    dup = manifest["utt_id"][manifest["utt_id"].duplicated()].unique()[:5].tolist()
    if dup:
        raise ValueError(f"manifest utt_ids are not unique (e.g. {dup}); run `semiemo corpora validate` and fix them")
    names = [f.name for f in fzs]
    if len(set(names)) != len(names):
        raise ValueError(f"featurizer names repeat: {names}")
    for f in fzs:
        missing = [c for c in getattr(f, "needs_columns", ()) if c not in manifest.columns]
        if missing:
            raise ValueError(f"featurizer {f.name!r} reads manifest columns {missing}, which this manifest lacks "
                             f"(it has {sorted(map(str, manifest.columns))})")
        any_of = getattr(f, "needs_any_columns", ())
        if any_of and not any(c in manifest.columns for c in any_of):
            raise ValueError(f"featurizer {f.name!r} reads one of the manifest columns {list(any_of)}, and this manifest "
                             f"has none of them (it has {sorted(map(str, manifest.columns))})")
        check = getattr(f, "check_manifest", None)  # optional: a featurizer that can refuse a whole corpus up front
        if check is not None:
            check(manifest)


def _needed_columns(manifest: pd.DataFrame, fzs: list[Featurizer]) -> list[str]:
    columns = [c for c in AUDIO_COLUMNS if c in manifest.columns]
    for f in fzs:
        columns += [c for c in getattr(f, "needs_columns", ()) if c not in columns]
        columns += [c for c in getattr(f, "needs_any_columns", ()) if c in manifest.columns and c not in columns]
    return columns


def _sorted_manifest(manifest: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns workers read, in the row order that defines the blocks: by utt_id, whatever the
    manifest's own order (only those columns are copied: a manifest may carry heavy visual lists)."""
    ids = manifest["utt_id"].astype(str).to_numpy(dtype=object)
    return manifest[columns].iloc[np.argsort(ids, kind="stable")].reset_index(drop=True)


def _block_rows(n_rows: int, block_size: int, block: int) -> int:
    return max(0, min(block_size, n_rows - block * block_size))


def _n_blocks(n_rows: int, block_size: int) -> int:
    return max(1, -(-n_rows // block_size))


def _open_entry(entry: StoreEntry, f: Featurizer, mhash: str, n_rows: int, block_size: int) -> int:
    """Create the entry's `_meta.json` if new; return the block size it uses (an existing one wins)."""
    meta = entry.meta()
    if meta is not None:
        if meta.get("n_rows") != n_rows:
            raise RuntimeError(f"store entry {entry.key} says {meta.get('n_rows')} rows but the manifest has "
                               f"{n_rows}; the store is inconsistent — delete {entry.path} and rerun")
        return int(meta["block_size"])
    config = asdict(f.config) if hasattr(f.config, "__dataclass_fields__") else dict(f.config)
    entry.write_meta({
        "key": str(entry.key), "manifest_hash": mhash, "featurizer": f.name, "config_hash": config_hash(f.config),
        "config": config, "schema": schema_to_json(f.schema()), "block_size": block_size, "n_rows": n_rows,
        "n_blocks": _n_blocks(n_rows, block_size), "block_order": "manifest sorted by utt_id",
        "created": time.time(), "complete": False,
    })
    return block_size


def _block_spec(ordered: pd.DataFrame, block: int, block_size: int, columns: list[str], which: list[int]) -> dict:
    rows = ordered.iloc[block * block_size:(block + 1) * block_size][columns]
    return {"block": block, "featurizer_indices": json.dumps(which), "rows": _rows_to_bytes(rows)}


def _rows_to_bytes(rows: pd.DataFrame) -> bytes:
    """Parquet (dictionary-encoded, so a repeated synth_config costs little); pickle if Arrow refuses."""
    try:
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), sink)
        return b"PQ" + sink.getvalue()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return b"PK" + pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)


def _rows_from_bytes(payload: bytes) -> pd.DataFrame:
    if payload[:2] == b"PQ":
        return pq.read_table(io.BytesIO(payload[2:])).to_pandas()
    return pickle.loads(payload[2:])


def _run_blocks(ordered, blocks, block_size, model_backed, fzs, entries, store, options, address):
    """One Ray Data pass over `blocks` (block -> indices of featurizers missing it); yields summaries."""
    import ray
    from ray.data import DataContext

    from semiemo.jobs.ray_runtime import init_ray

    init_ray(address)
    DataContext.get_current().enable_progress_bars = options.progress
    used = sorted({i for which in blocks.values() for i in which})
    columns = _needed_columns(ordered, [fzs[i] for i in used])
    specs = [_block_spec(ordered, b, block_size, columns, which) for b, which in sorted(blocks.items())]
    per_task = 1
    if not model_backed:
        slots = int(ray.cluster_resources().get("CPU", 1) / options.num_cpus)
        per_task = _blocks_per_task(len(specs), slots, options.blocks_per_task)
    ds = ray.data.from_items(specs, override_num_blocks=-(-len(specs) // per_task))
    worker_kwargs = {
        "featurizers": {i: fzs[i] for i in used},
        "entries": {i: (entries[i].key.relpath) for i in used},
        "store_uri": store.uri,
        "audio": AudioOptions(min_seconds=options.min_seconds, base_dir=options.base_dir),
        "batch_size": options.batch_size,
    }
    if model_backed:
        gpus = options.model_num_gpus
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        n = options.model_concurrency
        pool = (ray.data.ActorPoolStrategy(min_size=n[0], max_size=n[1]) if isinstance(n, tuple)
                else ray.data.ActorPoolStrategy(size=n))
        ds = ds.map_batches(_BlockActor, fn_constructor_kwargs=worker_kwargs, batch_size=1, compute=pool,
                            num_cpus=options.model_num_cpus, num_gpus=gpus)
    else:
        # batch_size=None: each Ray Data block (`per_task` specs) is one task, never bundled with another
        ds = ds.map_batches(_featurize_blocks, fn_kwargs=worker_kwargs, batch_size=None, num_cpus=options.num_cpus)
    for row in ds.iter_rows():
        if row.get(FAILURE):   # the run stops here; the shards finished so far are kept for the rerun
            raise FeaturizerFailed(row[FAILURE])
        yield row


def _blocks_per_task(n_blocks: int, slots: int, wanted: int) -> int:
    """Blocks per CPU task: `wanted`, but at most a quarter of each task slot's share of the run.

    Why more than one: after a task ends, Ray Data notices it (its executor polls every 0.1 s) and
    leases a worker for the next one. With one 256-row block per task (~2-3 s of work on this
    machine) that gap left 5 % of the CPUs idle through the 500k-row run; with 4 blocks per task
    1.3 % (bench/bench_parallel_efficiency.py). A SIGKILL still loses only the block in progress
    (each block's shard is committed on its own). The cap keeps the last wave short and every slot
    busy on small runs.
    """
    return max(1, min(wanted, n_blocks // (4 * max(1, slots))))


# ------------------------------------------------------------------------------------------------
# worker side
# ------------------------------------------------------------------------------------------------


def _featurize_blocks(batch: dict[str, np.ndarray], **kwargs: Any) -> dict[str, list]:
    """Ray Data task: featurize each block spec in `batch`, write its shards, return summaries."""
    return _BlockWorker(**kwargs).run(batch)


class _BlockActor:
    """Ray Data actor: builds the (model-backed) featurizers once, then serves blocks."""

    def __init__(self, **kwargs: Any):
        self.worker = _BlockWorker(**kwargs)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        return self.worker.run(batch)


class _BlockWorker:
    def __init__(self, featurizers: dict[int, Featurizer], entries: dict[int, str], store_uri: str,
                 audio: AudioOptions, batch_size: int):
        from semiemo.features.store import StoreKey

        self.featurizers = featurizers
        store = FeatureStore(store_uri)
        self.entries = {i: store.entry(StoreKey.parse(rel)) for i, rel in entries.items()}
        self.audio_options = audio
        self.batch_size = batch_size

    def run(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        out: dict[str, list] = {"block": [], "featurizer_index": [], "ok": [], "flagged": [], "errors": [], "node": [],
                                FAILURE: []}
        for block, which, payload in zip(batch["block"], batch["featurizer_indices"], batch["rows"]):
            rows = _rows_from_bytes(bytes(payload))
            try:
                summaries = self.featurize_block(int(block), json.loads(which), rows)
            except FeaturizerFailed as e:  # stop this task's blocks; the driver raises it with its own message
                summaries = [{"block": int(block), "featurizer_index": -1, "ok": 0, "flagged": 0, "errors": 0,
                              "node": _node_id(), FAILURE: str(e)}]
            for summary in summaries:
                for k in out:
                    out[k].append(summary.get(k, ""))
            if out[FAILURE][-1]:
                break
        return out

    def featurize_block(self, block: int, which: list[int], rows: pd.DataFrame) -> list[dict]:
        fzs = {i: self.featurizers[i] for i in which}
        utt_ids = rows["utt_id"].astype(str).tolist()
        records = rows.to_dict("records")
        audio: list[np.ndarray | None] = [None] * len(rows)
        flags = [""] * len(rows)
        audio_errors: dict[int, AudioError] = {}
        if any(getattr(f, "needs_audio", True) for f in fzs.values()):
            for r, record in enumerate(records):
                try:
                    loaded = load_row_audio(record, self.audio_options)
                    audio[r], flags[r] = loaded.samples, ",".join(loaded.flags)
                except AudioError as e:
                    audio_errors[r] = e
        summaries = []
        for i, f in fzs.items():
            needs_audio = getattr(f, "needs_audio", True)
            errors = [(utt_ids[r], e.reason, "audio", str(e)) for r, e in audio_errors.items()] if needs_audio else []
            usable = [r for r in range(len(rows)) if not (needs_audio and r in audio_errors)]
            outputs, ok_rows, feat_errors = _apply(f, rows, audio, usable, self.batch_size)
            errors += [(utt_ids[r], reason, f.name, detail) for r, reason, detail in feat_errors]
            row_flags = [flags[r] if needs_audio else "" for r in ok_rows]
            table = encode_table([utt_ids[r] for r in ok_rows], row_flags, outputs, f.schema())
            self.entries[i].write_block(block, table, pd.DataFrame(errors, columns=["utt_id", "reason", "stage", "detail"]))
            summaries.append({"block": block, "featurizer_index": i, "ok": len(ok_rows),
                              "flagged": sum(1 for s in row_flags if s), "errors": len(errors), "node": _node_id()})
        return summaries


def _node_id() -> str:
    """The Ray node this block ran on (where the report says the work went); '' outside Ray."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def _apply(f: Featurizer, rows: pd.DataFrame, audio: list, usable: list[int], batch_size: int):
    """Run `f` over the usable rows in batches; a failing batch is retried row by row.

    Returns (outputs concatenated over ok rows, ok row positions, [(row, reason, detail)]).
    """
    schema = f.schema()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in schema}
    ok_rows: list[int] = []
    failures: list[tuple[int, str, str]] = []
    last_error: BaseException | None = None
    for start in range(0, len(usable), batch_size):
        chunk = usable[start:start + batch_size]
        try:
            result = _call(f, rows, audio, chunk, schema)
            for k in schema:
                parts[k].append(result[k])
            ok_rows += chunk
            continue
        except Exception as batch_error:  # noqa: BLE001 - isolate the bad row(s) below
            last_error = batch_error
        for r in chunk:
            try:
                result = _call(f, rows, audio, [r], schema)
            except Exception as e:  # noqa: BLE001 - one bad row is that row's error
                last_error = e
                failures.append((r, f"featurizer_error:{type(e).__name__}", f"{type(e).__name__}: {e}"[:2000]))
                continue
            for k in schema:
                parts[k].append(result[k])
            ok_rows.append(r)
    if len(usable) >= 2 and not ok_rows:
        raise FeaturizerFailed(f"featurizer {f.name!r} failed on all {len(usable)} rows of a block "
                               f"(last: {type(last_error).__name__}: {last_error}); fix it and rerun — "
                               "finished blocks are kept") from last_error
    outputs = {k: (np.concatenate(v) if v else np.zeros((0, *schema[k].shape), dtype=_np_dtype(schema[k])))
               for k, v in parts.items()}
    return outputs, ok_rows, failures


def _call(f: Featurizer, rows: pd.DataFrame, audio: list, idx: list[int], schema: dict[str, FieldSpec]) -> dict:
    batch: dict[str, Any] = {"utt_id": rows["utt_id"].astype(str).to_numpy()[idx]}
    if getattr(f, "needs_audio", True):
        batch["audio"] = [audio[r] for r in idx]
    for c in getattr(f, "needs_columns", ()):
        batch[c] = rows[c].to_numpy()[idx]
    for c in getattr(f, "needs_any_columns", ()):  # e.g. fer_probs or visual_path: whichever the corpus has
        if c in rows.columns:
            batch[c] = rows[c].to_numpy()[idx]
    result = f(batch)
    checked = {}
    for k, spec in schema.items():
        if k not in result:
            raise KeyError(f"featurizer {f.name!r} returned no {k!r} (schema fields: {list(schema)})")
        arr = np.asarray(result[k], dtype=_np_dtype(spec))
        if arr.shape != (len(idx), *spec.shape):
            raise ValueError(f"featurizer {f.name!r} field {k!r}: shape {arr.shape}, schema says {(len(idx), *spec.shape)}")
        checked[k] = arr
    return checked


def _np_dtype(spec: FieldSpec) -> Any:
    return object if spec.dtype in ("str", "string") else spec.dtype
