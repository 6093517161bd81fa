"""One measurement at one size: the real pipeline, timed, with memory sampled while it runs.

- `single_process_rate`: one Ray task renders, featurizes and writes `rows` utterances serially —
  the per-core rate every parallel run is compared with (measured in the same run, same code).
- `featurize_run`: `features.pipeline.featurize` of a synthetic unlabeled pool into a store; the
  synthetic audio is rendered inside the Ray tasks, never on the driver.
- `train_run`: fixmatch for a fixed number of steps with that pool streamed from the store
  (`unlabeled_memory_budget_mb=0` forces the streamed path whatever the pool's size).
- `exactly_once`: the store read back shard by shard: rows, unique ids, errors, blocks.

Ray must already be initialised (locally with the CPUs the study wants, or joined to a cluster).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from semiemo.scale.rss import RssSampler, Sample

FEATURIZER = "melstats"
POOL_SEED = 11
TARGET = "synthetic:acted=120,wild_labeled=0,unlabeled=0,seed=1"  # small labeled target, featurized for real
SSL_METHOD = "fixmatch"


def pool_spec(rows: int) -> str:
    """A synthetic unlabeled pool of `rows` utterances; audio-only (face lists stay out of the manifest)."""
    return f"synthetic:acted=0,wild_labeled=0,unlabeled={int(rows)},seed={POOL_SEED},visual_in_manifest=false"


def pool_manifest(rows: int) -> tuple[pd.DataFrame, float]:
    """The pool's manifest (metadata only, no audio) and the seconds it took to build on the driver.

    It is the manifest training featurizes and streams: a pool is stored corpus by corpus under each
    corpus' own manifest key (`features.pool.featurize_pool`), so featurizing the joined pool manifest
    (prefixed ids, another key) would make training featurize every row a second time."""
    from semiemo.corpora.unlabeled_pool import pool_parts

    t0 = time.perf_counter()
    (part,) = pool_parts(pool_spec(rows))
    return part.manifest, time.perf_counter() - t0


@dataclass
class StageRates:
    """Seconds per utterance of each stage inside one worker, measured on `rows` utterances serially."""

    rows: int
    render_s: float
    featurize_s: float
    write_s: float
    cpu_s: float = 0.0  # the task's process CPU seconds over the three stages (> wall: it ran extra threads)
    threads: dict[str, int] = field(default_factory=dict)  # thread pools in the task: BLAS/OpenMP, torch

    @property
    def total_s(self) -> float:
        return self.render_s + self.featurize_s + self.write_s

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.total_s

    def per_stage_rows_per_s(self) -> dict[str, float]:
        return {"render": self.rows / self.render_s, "featurize": self.rows / self.featurize_s,
                "encode+write": self.rows / self.write_s, "all three (one core)": self.rows_per_s}


def _thread_pools() -> dict[str, int]:
    """Threads each native pool of this process would use (numbers > 1 in a 1-CPU task oversubscribe)."""
    import sys

    from threadpoolctl import threadpool_info

    pools = {p["internal_api"]: int(p["num_threads"]) for p in threadpool_info()}
    if "torch" in sys.modules:
        pools["torch"] = sys.modules["torch"].get_num_threads()
    return pools


def _serial_stages(rows: pd.DataFrame, featurizer_name: str, scratch_store: str, part: int = 0) -> dict[str, Any]:
    """Inside one Ray task: render, featurize, encode + write `rows`, each stage timed on its own."""
    from semiemo.features.audio_io import AudioOptions, load_row_audio
    from semiemo.features.pipeline import resolve_featurizer
    from semiemo.features.store import FeatureStore, StoreKey, encode_table

    f = resolve_featurizer(featurizer_name)
    records = rows.to_dict("records")
    c0, t0 = time.process_time(), time.perf_counter()
    audio = [load_row_audio(r, AudioOptions()).samples for r in records]
    t1 = time.perf_counter()
    ids = [str(r["utt_id"]) for r in records]
    out = {k: [] for k in f.schema()}
    for start in range(0, len(ids), 64):  # the pipeline's default batch size
        chunk = f({"utt_id": ids[start:start + 64], "audio": audio[start:start + 64]})
        for k in out:
            out[k].append(chunk[k])
    t2 = time.perf_counter()
    import numpy as np

    table = encode_table(ids, [""] * len(ids), {k: np.concatenate(v) for k, v in out.items()}, f.schema())
    FeatureStore(scratch_store).entry(StoreKey("serial", f.name, "rate")).write_block(part, table, pd.DataFrame())
    t3 = time.perf_counter()
    return {"render_s": t1 - t0, "featurize_s": t2 - t1, "write_s": t3 - t2, "cpu_s": time.process_time() - c0,
            "threads": _thread_pools()}


def _spread_rows(ordered: pd.DataFrame, rows: int, parts: int) -> list[pd.DataFrame]:
    """`parts` disjoint samples of about `rows` rows, each made of aligned 64-row runs spread over the whole
    pool (the renderer plans 64 neighbours at once, as in a pipeline block), so a rate is not the first rows'."""
    run = 64
    available = -(-len(ordered) // run)
    wanted = min(available, parts * max(1, -(-rows // run)))
    picked = np.unique(np.linspace(0, available - 1, num=wanted).round().astype(int))
    samples = []
    for p in range(parts):
        idx = np.concatenate([np.arange(r * run, min((r + 1) * run, len(ordered))) for r in picked[p::parts]])
        samples.append(ordered.iloc[idx[:rows]].reset_index(drop=True))
    return samples


def single_process_rate(manifest: pd.DataFrame, scratch_store: str, rows: int = 256,
                        featurizer: str = FEATURIZER) -> StageRates:
    """The per-core rate: `rows` utterances through render -> featurizer -> shard in ONE Ray task."""
    return concurrent_rates(manifest, scratch_store, rows=rows, tasks=1, featurizer=featurizer)[0]


def concurrent_rates(manifest: pd.DataFrame, scratch_store: str, rows: int = 256, tasks: int = 1,
                     featurizer: str = FEATURIZER) -> list[StageRates]:
    """The serial loop of `single_process_rate` in `tasks` Ray tasks at once, each on its own rows.

    With `tasks` = cores this is the same code with every core busy, no pipeline around it: the rate
    the hardware itself gives in parallel. Below `tasks x` the one-task rate, the cores slow each
    other (shared caches, memory bandwidth, the host's scheduling), which no pipeline change can win back.
    """
    from semiemo.features.pipeline import _needed_columns, _sorted_manifest, resolve_featurizer
    from semiemo.jobs.tasks import run_in_tasks

    ordered = _sorted_manifest(manifest, _needed_columns(manifest, [resolve_featurizer(featurizer)]))
    samples = _spread_rows(ordered, rows, tasks)
    # warm-up, one per task so every worker has imported, loaded espeak and built the mel tables
    run_in_tasks(_serial_stages, [(s.iloc[:16], featurizer, scratch_store, i) for i, s in enumerate(samples)])
    times = run_in_tasks(_serial_stages, [(s, featurizer, scratch_store, i) for i, s in enumerate(samples)])
    return [StageRates(rows=len(s), **t) for s, t in zip(samples, times)]


@dataclass
class FeaturizeMeasure:
    rows: int
    workers: int               # featurization tasks running at once (nodes x CPUs per node / CPUs per task)
    nodes: int
    blocks_total: int
    blocks_computed: int
    wall_s: float              # featurize() call: driver planning + Ray Data pass + store counts
    rows_per_s: float          # rows computed in this run / wall_s
    driver_peak_mb: float      # largest sampled driver RSS during the call
    worker_peak_mb: float      # largest RSS of any one Ray worker during the call
    store_mb: float
    errors: int
    samples: list[Sample] = field(default_factory=list, repr=False)

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("samples")
        return {"kind": "featurize", **d}


def featurize_run(manifest: pd.DataFrame, store_root: str, *, workers: int, nodes: int = 1, cpus_per_node: int = 1,
                  block_size: int = 256, featurizer: str = FEATURIZER, address: str | None = None,
                  sampler: RssSampler | None = None, interval: float = 0.5, **pipeline_options: Any) -> FeaturizeMeasure:
    """Featurize `manifest` into `store_root` with `workers` concurrent tasks (CPUs per task = total / workers);
    `pipeline_options`: other `PipelineOptions` fields (e.g. `blocks_per_task`)."""
    from semiemo.corpora.manifest import manifest_hash
    from semiemo.features.pipeline import featurize, resolve_featurizer
    from semiemo.features.store import FeatureStore, store_key

    total_cpus = nodes * cpus_per_node
    if workers < 1 or workers > total_cpus:
        raise ValueError(f"workers={workers} must be between 1 and the {total_cpus} CPUs of {nodes} node(s)")
    fz = resolve_featurizer(featurizer)
    entry = FeatureStore(store_root).entry(store_key(manifest_hash(manifest), fz))
    n = len(manifest)
    own = sampler is None
    sampler = sampler or RssSampler(interval=interval)
    sampler.rows_done = lambda: min(n, len(entry.done_blocks()) * block_size)
    sampler.phase = f"featurize rows={n} workers={workers} nodes={nodes}"
    report, wall, mine = _sampled(sampler, own, lambda: featurize(
        manifest, [fz], store_root, address=address, num_cpus=total_cpus / workers, block_size=block_size,
        progress=False, **pipeline_options))
    counts = report.featurizers[fz.name]
    computed_rows = min(n, counts.blocks_computed * block_size)
    return FeaturizeMeasure(
        rows=n, workers=workers, nodes=nodes, blocks_total=counts.blocks_total, blocks_computed=counts.blocks_computed,
        wall_s=round(wall, 3), rows_per_s=round(computed_rows / wall, 2),
        driver_peak_mb=max(s.driver_mb for s in mine), worker_peak_mb=max(s.worker_max_mb for s in mine),
        store_mb=round(entry.size_bytes() / 2**20, 2), errors=counts.errors, samples=mine)


@dataclass
class TrainMeasure:
    rows: int                  # pool rows streamed from the store
    workers: int               # 1: in-process; >1: Ray Train DDP workers
    steps: int
    wall_s: float              # run_experiment call (opens the pool, fits the scalers, trains, evaluates)
    train_s: float             # the trainer's own fit time
    samples_per_s: float       # labeled + unlabeled rows per second, all workers together
    driver_peak_mb: float
    streamed: bool

    def record(self) -> dict[str, Any]:
        return {"kind": "train", **asdict(self)}


def train_run(rows: int, store_root: str, out_dir: str, *, steps: int, workers: int = 1,
              cpus_per_worker: float = 1.0, sampler: RssSampler | None = None, interval: float = 0.5) -> TrainMeasure:
    """fixmatch for `steps` steps, the pool of `rows` rows streamed from `store_root` (featurized before)."""
    from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
    from semiemo.train.experiment import run_experiment

    cfg = ExperimentConfig(
        name=f"scale-train-{rows}-w{workers}", corpus=TARGET, features=[FEATURIZER], unlabeled=pool_spec(rows),
        method=SSL_METHOD, feature_store=store_root, output_dir=str(Path(out_dir) / f"train-{rows}-w{workers}"),
        protocol=ProtocolConfig(name="kfold", folds=2, max_folds=1), seeds=[0],
        train=TrainConfig(epochs=1, batch_size=64, mu=7, steps_per_epoch=steps, num_threads=1, workers=workers,
                          cpus_per_worker=cpus_per_worker, unlabeled_memory_budget_mb=0.0))
    own = sampler is None
    sampler = sampler or RssSampler(interval=interval)
    sampler.phase = f"train rows={rows} workers={workers}"
    frame, wall, mine = _sampled(sampler, own, lambda: run_experiment(cfg))
    row = frame.iloc[0]
    return TrainMeasure(rows=rows, workers=workers, steps=int(row["train_steps"]), wall_s=round(wall, 3),
                        train_s=round(float(row["train_time_s"]), 3),
                        samples_per_s=round(float(row["samples_per_s"]), 1),
                        driver_peak_mb=max(s.driver_mb for s in mine), streamed=bool(row["unlabeled_streamed"]))


def _sampled(sampler: RssSampler, own: bool, work: Callable[[], Any]) -> tuple[Any, float, list[Sample]]:
    """`work()`'s result, its wall seconds and the RSS samples taken while it ran (the sampler's thread runs
    only when this call owns it; a shared sampler gets one sample at the end)."""
    first = len(sampler.samples)
    if own:
        sampler.start()
    t0 = time.perf_counter()
    result = work()
    wall = time.perf_counter() - t0
    if own:
        sampler.stop()
    else:
        sampler.sample()
    return result, wall, sampler.samples[first:]


def exactly_once(manifest: pd.DataFrame, store_root: str, featurizer: str = FEATURIZER) -> dict[str, Any]:
    """Read the store back one shard at a time (utt_id only): every manifest row stored once or tabled as an error."""
    import pyarrow.parquet as pq

    from semiemo.corpora.manifest import manifest_hash
    from semiemo.features.pipeline import resolve_featurizer
    from semiemo.features.store import FeatureStore, store_key

    fz = resolve_featurizer(featurizer)
    entry = FeatureStore(store_root).entry(store_key(manifest_hash(manifest), fz))
    meta = entry.meta() or {}
    seen: set[str] = set()
    stored = 0
    for path in entry.shard_paths():
        ids = pq.read_table(path, filesystem=entry.fs, columns=["utt_id"]).column("utt_id").to_pylist()
        stored += len(ids)
        seen.update(ids)
    errors = entry.read_errors()
    expected = set(manifest["utt_id"].astype(str))
    error_ids = set(errors["utt_id"].astype(str)) if len(errors) else set()
    result = {
        "manifest_rows": len(manifest), "blocks_expected": meta.get("n_blocks"), "blocks_done": len(entry.done_blocks()),
        "rows_stored": stored, "unique_ids_stored": len(seen), "error_rows": len(errors),
        "missing_ids": len(expected - seen - error_ids), "foreign_ids": len(seen - expected),
        "store_mb": round(entry.size_bytes() / 2**20, 2),
    }
    result["ok"] = (stored == len(seen) and result["missing_ids"] == 0 and result["foreign_ids"] == 0
                    and stored + len(error_ids) == len(manifest) and result["blocks_done"] == result["blocks_expected"])
    return result
