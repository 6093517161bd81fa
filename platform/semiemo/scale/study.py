"""`semiemo scale`: featurization and training measured at several sizes, worker counts and node counts.

Sequence: one local Ray with `cpus` CPUs; the one-core serial rate; one small unrecorded warm-up
pass; for every row count a pool
manifest, featurized into a fresh store once per worker count (workers = concurrent tasks: each task
asks for cpus / workers CPUs, so one Ray serves every count); then streamed training at each row count
(after all featurization, so the driver's RSS per size is not inflated by torch loaded for training);
then, with `nodes >= 2`, a local cluster (`jobs.local_cluster`) of `nodes` nodes sharing the same CPUs,
featurizing the largest size again. Then fits, plots, `report.md`, `results.json`.
"""

from __future__ import annotations

import json
import os
import platform as _platform
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from semiemo import storage
from semiemo.scale import fit as fitting
from semiemo.scale.measure import (
    FEATURIZER, SSL_METHOD, featurize_run, pool_manifest, single_process_rate, train_run,
)


class StudyConfig(BaseModel):
    """What to measure and what to project to. Validated at the edge (the CLI)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[int] = Field(default_factory=lambda: [1000, 4000, 16000], description="pool sizes measured")
    workers: list[int] = Field(default_factory=lambda: [1, 2], description="featurization worker counts")
    cpus: int | None = Field(None, ge=1, description="CPUs of the local Ray (default: the largest worker count)")
    nodes: int = Field(2, ge=0, description="local cluster nodes for the node run (0 or 1: no cluster run)")
    train_steps: int = Field(100, ge=0, description="fixmatch steps per training measurement (0: no training)")
    train_workers: list[int] = Field(default_factory=lambda: [1], description="1: in-process; >1: Ray Train DDP")
    target_rows: int = Field(500_000, ge=1)
    target_nodes: int = Field(1, ge=1)
    target_cpus_per_node: int = Field(2, ge=1)
    block_size: int = Field(256, ge=1)
    rate_rows: int = Field(256, ge=8, description="utterances of the one-core serial rate")
    out_dir: str = "scale_study"
    featurizer: str = FEATURIZER

    @model_validator(mode="after")
    def _check(self) -> "StudyConfig":
        if len(set(self.rows)) < 2 or min(self.rows) < 1:
            raise ValueError(f"rows needs at least two different positive sizes to fit a growth curve, got {self.rows}")
        if min(self.workers) < 1 or (self.cpus is not None and max(self.workers) > self.cpus):
            raise ValueError(f"workers {self.workers} must be between 1 and cpus={self.cpus}")
        if any(w < 1 for w in self.train_workers):
            raise ValueError(f"train_workers must be >= 1, got {self.train_workers}")
        return self

    @property
    def local_cpus(self) -> int:
        return self.cpus or max(self.workers)


def run_study(cfg: StudyConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Measure, fit, project, write `results.json` + `report.md` + PNGs under `cfg.out_dir`; return the results."""
    from semiemo.jobs.ray_runtime import init_ray, is_running, shutdown_ray
    from semiemo.scale.report import write_report

    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stores = out / "stores"
    if stores.exists():
        shutil.rmtree(stores)  # every measurement computes every block
    records: list[dict[str, Any]] = []
    results: dict[str, Any] = {"config": cfg.model_dump(), "ssl_method": SSL_METHOD, "records": records,
                               "machine": f"{_platform.machine()}, {os.cpu_count()} logical CPUs visible, "
                                          f"local Ray with {cfg.local_cpus} CPUs"}
    rows = sorted(set(cfg.rows))
    started_here = not is_running()
    init_ray(num_cpus=cfg.local_cpus)
    try:
        first, _ = pool_manifest(rows[0])
        rate = single_process_rate(first, str(out / "scratch"), rows=min(cfg.rate_rows, rows[0]), featurizer=cfg.featurizer)
        results["single_process"] = {"rows": rate.rows, "rows_per_s": rate.rows_per_s,
                                     "per_stage_rows_per_s": rate.per_stage_rows_per_s()}
        log(f"one core, serial: {rate.rows_per_s:,.1f} rows/s ({1000 / rate.rows_per_s:.2f} ms/utt)")
        # one small unrecorded pass: the workers import Ray Data and the pipeline now, not inside the
        # smallest size's wall (there it outweighed the rows and the fitted per-row cost came out negative)
        featurize_run(first.iloc[:2 * max(cfg.workers)], str(stores / "warm-up"), workers=max(cfg.workers),
                      cpus_per_node=cfg.local_cpus, block_size=1, featurizer=cfg.featurizer)
        for n in rows:
            manifest, manifest_s = pool_manifest(n)
            records.append({"kind": "manifest", "rows": n, "wall_s": round(manifest_s, 3)})
            for w in sorted(set(cfg.workers)):
                fm = featurize_run(manifest, str(stores / f"r{n}-w{w}-n1"), workers=w, cpus_per_node=cfg.local_cpus,
                                   block_size=cfg.block_size, featurizer=cfg.featurizer)
                records.append(fm.record())
                log(f"featurize {n:>8,} rows, {w} worker(s): {fm.wall_s:7.1f} s, {fm.rows_per_s:8,.1f} rows/s, "
                    f"driver {fm.driver_peak_mb:.0f} MB, worker {fm.worker_peak_mb:.0f} MB")
            del manifest
        # training after every featurization: torch and the trainer, once imported, stay in the driver,
        # and would otherwise show up as driver memory "growing" with rows
        for n in rows:
            for tw in sorted(set(cfg.train_workers)) if cfg.train_steps else []:
                tm = train_run(n, str(stores / f"r{n}-w{max(cfg.workers)}-n1"), str(out / "runs"), steps=cfg.train_steps,
                               workers=tw, cpus_per_worker=cfg.local_cpus / tw)
                records.append(tm.record())
                log(f"train     {n:>8,} rows, {tw} worker(s): {tm.samples_per_s:,.0f} samples/s, fit {tm.train_s:.1f} s, "
                    f"call {tm.wall_s:.1f} s, driver {tm.driver_peak_mb:.0f} MB")
    finally:
        if started_here:
            shutdown_ray()
    if cfg.nodes >= 2:
        records.append(_cluster_run(cfg, rows[-1], stores, log))
    results["fits"] = _fits(cfg, records)
    results["projection"] = _projection(cfg, results["fits"], records)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    results["report"] = str(write_report(results, out))
    log(f"report: {results['report']}")
    return results


def _cluster_run(cfg: StudyConfig, n: int, stores: Path, log: Callable[[str], None]) -> dict[str, Any]:
    """The largest size again on a local `nodes`-node cluster (CPUs split across the nodes)."""
    from semiemo.jobs.local_cluster import local_cluster

    per_node = max(1, cfg.local_cpus // cfg.nodes)
    # Every node of this local cluster is a process on this machine: the store folder is shared by
    # construction, so it is declared shared (a real multi-node cluster needs a URI root instead).
    shared_before = os.environ.get(storage.SHARED_ENV)
    os.environ[storage.SHARED_ENV] = "1"
    try:
        with local_cluster(cfg.nodes, per_node):
            manifest, _ = pool_manifest(n)
            fm = featurize_run(manifest, str(stores / f"r{n}-w{per_node * cfg.nodes}-n{cfg.nodes}"),
                               workers=per_node * cfg.nodes, nodes=cfg.nodes, cpus_per_node=per_node,
                               block_size=cfg.block_size, featurizer=cfg.featurizer)
            log(f"featurize {n:>8,} rows, {cfg.nodes}-node cluster x {per_node} CPU: {fm.wall_s:7.1f} s, "
                f"{fm.rows_per_s:8,.1f} rows/s")
        return fm.record()
    finally:
        if shared_before is None:
            os.environ.pop(storage.SHARED_ENV, None)
        else:
            os.environ[storage.SHARED_ENV] = shared_before


def _fits(cfg: StudyConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    feat = [r for r in records if r["kind"] == "featurize" and r["nodes"] == 1]
    fits: dict[str, Any] = {"featurize": {}, "train": {}}
    for w in sorted({r["workers"] for r in feat}):
        pts = [(r["rows"], r["wall_s"]) for r in feat if r["workers"] == w]
        fits["featurize"][str(w)] = fitting.fit_linear(*zip(*pts)).as_dict()
    train = [r for r in records if r["kind"] == "train"]
    for w in sorted({r["workers"] for r in train}):
        pts = [(r["rows"], r["wall_s"]) for r in train if r["workers"] == w]
        if len({p[0] for p in pts}) >= 2:
            fits["train"][str(w)] = fitting.fit_linear(*zip(*pts)).as_dict()
    wmax = max(r["workers"] for r in feat)
    driver = [(r["rows"], r["driver_peak_mb"]) for r in feat if r["workers"] == wmax]
    fits["driver_rss"] = fitting.fit_linear(*zip(*driver)).as_dict()
    largest = max(r["rows"] for r in feat)
    at_largest = sorted((r["workers"], r["rows_per_s"]) for r in feat if r["rows"] == largest)
    if len(at_largest) >= 2:
        ws = fitting.worker_scaling(*zip(*at_largest))
        fits["worker_scaling"] = {"workers": ws.workers, "rows_per_s": ws.rows_per_s, "speedup": ws.speedup,
                                  "efficiency": ws.efficiency}
        fits["worker_scaling_rows"] = largest
    cluster = [r for r in records if r["kind"] == "featurize" and r["nodes"] > 1]
    if cluster:
        c = cluster[-1]
        same = [r for r in feat if r["rows"] == c["rows"] and r["workers"] == c["workers"]]
        if same:
            fits["nodes"] = {"nodes": c["nodes"], "cpus_per_node": c["workers"] // c["nodes"], "workers": c["workers"],
                             "rows": c["rows"], "cluster_rows_per_s": c["rows_per_s"],
                             "single_node_rows_per_s": same[0]["rows_per_s"],
                             "ratio": c["rows_per_s"] / same[0]["rows_per_s"]}
    return fits


def _projection(cfg: StudyConfig, fits: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    one = fits["featurize"][str(min(int(w) for w in fits["featurize"]))]
    wmin = min(int(w) for w in fits["featurize"])
    per_worker = one["marginal_rows_per_s"] / wmin
    ws = fits.get("worker_scaling")
    efficiency = ws["efficiency"][-1] if ws else 1.0
    if cfg.target_nodes > 1 and "nodes" in fits:
        efficiency *= min(1.0, fits["nodes"]["ratio"])
    wmax = str(max(int(w) for w in fits["featurize"]))
    train = [r for r in records if r["kind"] == "train" and r["workers"] == 1]
    train_rate = max(train, key=lambda r: r["rows"])["samples_per_s"] if train else None
    driver = fitting.LinearFit(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in fits["driver_rss"].items()
                                  if k != "marginal_rows_per_s"})
    return fitting.project(cfg.target_rows, cfg.target_nodes, cfg.target_cpus_per_node, per_worker, efficiency,
                           fits["featurize"][wmax]["fixed_s"], driver, train_rate).as_dict()
