"""External unlabeled pool: streamed from the feature store vs held in memory, side by side.

A synthetic manifest of `--pool` unlabeled rows (default 100,000) gets an `egemaps` store entry with
the real schema (88 float32 per row) and the pipeline's own block layout. Its values are drawn from a
normal distribution instead of running openSMILE over 100k rendered utterances (about 1.5 h on
2 cores): what is measured here — memory and rows/s of the training loop reading the pool — does not
depend on the values. The target is the small synthetic corpus, featurized for real. Each mode runs
in its own process (peak RSS is per process; in-process training = driver and worker are one
process), the same seed, the same steps:

    python bench/bench_unlabeled_pool.py [--pool 100000] [--steps 300]

Prints peak RSS, samples/s and training wall time of both modes, their ratios, and the projection
to a 500k-row pool (memory of the in-memory path grows with the pool, the streamed path's does not).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = "synthetic:acted=120,wild_labeled=0,unlabeled=0,seed=1"


def pool_spec(n: int) -> str:
    return f"synthetic:acted=0,wild_labeled=0,unlabeled={n},seed=11,visual_in_manifest=false"  # no face lists: an audio-only pool


def write_pool_store(n: int, store: str) -> float:
    """egemaps entry of the pool's corpus (its own store key), values ~ N(0, 1), in the pipeline's block layout."""
    import numpy as np

    from semiemo.corpora.manifest import manifest_hash
    from semiemo.corpora.unlabeled_pool import pool_parts
    from semiemo.features.pipeline import PipelineOptions, _n_blocks, _needed_columns, _open_entry, _sorted_manifest
    from semiemo.features.registry import make_featurizer
    from semiemo.features.store import FeatureStore, encode_table, store_key

    t0 = time.perf_counter()
    manifest = pool_parts(pool_spec(n))[0].manifest
    fz = make_featurizer("egemaps")
    mhash = manifest_hash(manifest)
    entry = FeatureStore(store).entry(store_key(mhash, fz))
    bs = _open_entry(entry, fz, mhash, len(manifest), PipelineOptions().block_size)
    ordered = _sorted_manifest(manifest, _needed_columns(manifest, [fz]))
    rng = np.random.default_rng(0)
    done = entry.done_blocks()
    import pandas as pd

    for b in range(_n_blocks(len(ordered), bs)):
        if b in done:
            continue
        ids = ordered["utt_id"].iloc[b * bs:(b + 1) * bs].astype(str).tolist()
        values = rng.normal(size=(len(ids), 88)).astype(np.float32)
        entry.write_block(b, encode_table(ids, [""] * len(ids), {"egemaps": values}, fz.schema()), pd.DataFrame())
    return time.perf_counter() - t0


def run_mode(mode: str, n: int, steps: int, store: str) -> dict:
    """Child process: train fixmatch for `steps` steps with the pool in memory or streamed."""
    from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
    from semiemo.train.experiment import run_experiment

    budget = 1e9 if mode == "memory" else 0.0
    cfg = ExperimentConfig(
        name=f"bench-{mode}", corpus=TARGET, features=["egemaps"], unlabeled=pool_spec(n), method="fixmatch",
        feature_store=store, output_dir=str(Path(store).parent / f"runs-{mode}"),
        protocol=ProtocolConfig(name="kfold", folds=2, max_folds=1), seeds=[0],
        train=TrainConfig(epochs=1, batch_size=64, mu=7, steps_per_epoch=steps, num_threads=1,
                          unlabeled_memory_budget_mb=budget))
    t0 = time.perf_counter()
    row = run_experiment(cfg).iloc[0]
    return {"mode": mode, "wall_s": time.perf_counter() - t0, "train_s": float(row["train_time_s"]),
            "samples_per_s": float(row["samples_per_s"]), "n_unlabeled": int(row["n_unlabeled"]),
            "streamed": bool(row["unlabeled_streamed"]),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--child", choices=["memory", "streamed"])
    ap.add_argument("--store")
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_mode(args.child, args.pool, args.steps, args.store)))
        return
    home = Path(tempfile.mkdtemp(prefix="bench_pool_"))
    store = str(home / "features")
    os.environ["SEMIEMO_HOME"] = str(home)
    print(f"writing a {args.pool:,}-row egemaps store entry ...", flush=True)
    print(f"  {write_pool_store(args.pool, store):.1f} s")
    results = {}
    for mode in ("memory", "streamed"):
        proc = subprocess.run([sys.executable, __file__, "--child", mode, "--pool", str(args.pool), "--steps",
                               str(args.steps), "--store", store], capture_output=True, text=True,
                              env={**os.environ, "SEMIEMO_HOME": str(home)})
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"{mode} run failed")
        results[mode] = json.loads(line[0][7:])
    m, s = results["memory"], results["streamed"]
    print(f"\npool {args.pool:,} rows × 88 egemaps, fixmatch μ=7 B=64, {args.steps} steps, 1 process, 1 thread")
    print(f"{'mode':10s} {'peak RSS MB':>12s} {'samples/s':>10s} {'train s':>8s} {'wall s':>8s}")
    for r in (m, s):
        print(f"{r['mode']:10s} {r['peak_rss_mb']:12.0f} {r['samples_per_s']:10.0f} {r['train_s']:8.1f} {r['wall_s']:8.1f}")
    print(f"streamed / memory: peak RSS {s['peak_rss_mb'] / m['peak_rss_mb']:.2f}, "
          f"samples/s {s['samples_per_s'] / m['samples_per_s']:.2f}")
    pool_mb = args.pool * 88 * 4 / 2**20
    extra = m["peak_rss_mb"] - s["peak_rss_mb"]
    per_row = max(extra, 0) / args.pool
    print(f"pool features {pool_mb:.0f} MB; in-memory path holds ≈ {extra:.0f} MB more at peak "
          f"({per_row * 1024:.2f} KB/row: features, their z-scored copy and tensors)")
    print(f"projection to 500,000 rows: in-memory ≈ {m['peak_rss_mb'] + per_row * (500_000 - args.pool):.0f} MB, "
          f"streamed ≈ {s['peak_rss_mb']:.0f} MB + per-row bookkeeping "
          f"(utt_ids and visit counts, ≈ {500_000 * 70 / 2**20:.0f} MB)")


if __name__ == "__main__":
    main()
