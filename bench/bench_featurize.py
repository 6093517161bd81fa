"""IS10 featurization throughput and driver memory: semiemo's Ray Data pipeline vs. plain openSMILE.

Throughput, on CASIA's 1,200 files and on N synthetic utterances written to WAV first (so all three
read the same files):
  (a) one process calling opensmile in a loop: the per-core limit
  (b) opensmile.Smile(num_workers=cores, multiprocessing=True).process_files (audinterface)
  (c) semiemo.features.featurize(..., ["is10"]) into a fresh store (Ray already started)
Targets: (c) >= 0.9 x cores x (a), and (c) >= (b).

Streaming memory: peak RSS of a fresh driver process featurizing M synthetic utterances with a
cheap featurizer (audio rendered on the workers); it must stay flat as M grows (target <= 1.5 GB).

    .venv/bin/python bench/bench_featurize.py                       # a few minutes
    .venv/bin/python bench/bench_featurize.py --synthetic-n 2000 --memory-n 10000,100000
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
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))


# ------------------------------------------------------------------------------------------------
# throughput
# ------------------------------------------------------------------------------------------------


def is10_conf() -> str:
    from semiemo.features.opensmile_functionals import FEATURE_SETS

    return str(FEATURE_SETS["is10"].smile_feature_set())


def loop_one_process(paths: list[str]) -> float:
    """(a) utterances/s of one process, one file after another."""
    import opensmile

    smile = opensmile.Smile(feature_set=is10_conf(), feature_level="func")
    t0 = time.perf_counter()
    for p in paths:
        smile.process_file(p)
    return len(paths) / (time.perf_counter() - t0)


def audinterface_multiprocessing(paths: list[str], cores: int) -> float:
    """(b) utterances/s of openSMILE's own process pool."""
    import opensmile

    smile = opensmile.Smile(feature_set=is10_conf(), feature_level="func", num_workers=cores, multiprocessing=True)
    t0 = time.perf_counter()
    out = smile.process_files(paths)
    assert len(out) == len(paths), (len(out), len(paths))
    return len(paths) / (time.perf_counter() - t0)


def semiemo_pipeline(manifest, cores: int, store: str, block_size: int) -> tuple[float, dict]:
    """(c) utterances/s of the Ray Data pipeline into an empty store."""
    from semiemo.features import featurize

    t0 = time.perf_counter()
    report = featurize(manifest, ["is10"], store_root=store, block_size=block_size, progress=False)
    rate = len(manifest) / (time.perf_counter() - t0)
    c = report.featurizers["is10"]
    assert c.ok + c.errors == len(manifest)
    return rate, {"ok": c.ok, "errors": c.errors_by_reason, "blocks": c.blocks_computed}


def baselines(manifest, cores: int, repeats: int) -> dict:
    """(b) — measured before Ray starts, so openSMILE's process pool never forks a Ray driver."""
    paths = manifest["path"].tolist()
    loop_paths = paths[: min(len(paths), 300)]  # (a) is a per-core rate: a sample of files measures it
    b = max(audinterface_multiprocessing(paths, cores) for _ in range(repeats))
    return {"b_audinterface": b, "loop_paths": loop_paths}


def report_throughput(name: str, manifest, cores: int, tmp: Path, repeats: int, base: dict) -> dict:
    n = len(manifest)
    b = base.pop("b_audinterface")
    a = max(loop_one_process(base.pop("loop_paths")) for _ in range(repeats))  # just before (c): same load
    block_size = max(8, -(-n // (cores * 6)))
    # warm-up: start the Ray workers and import openSMILE in them, as a long run amortises it
    t0 = time.perf_counter()
    semiemo_pipeline(manifest.iloc[: cores * 2], cores, str(tmp / f"warmup-{name}"), 1)
    startup = time.perf_counter() - t0
    runs = [semiemo_pipeline(manifest, cores, str(tmp / f"store-{name}-{r}"), block_size) for r in range(repeats)]
    c, info = max(runs, key=lambda x: x[0])
    row = {"corpus": name, "n": n, "cores": cores, "a_loop_per_core": a, "b_audinterface": b, "c_semiemo": c,
           "c_over_cores_a": c / (cores * a), "c_over_b": c / b, "block_size": block_size,
           "warmup_s": startup, **info}
    print(f"\n== IS10 throughput: {name}, {n} utterances, {cores} cores (best of {repeats})")
    print(f"  (a) one process loop      {a:8.1f} utt/s  -> cores x (a) = {cores * a:.1f} utt/s")
    print(f"  (b) opensmile mp x{cores}       {b:8.1f} utt/s")
    print(f"  (c) semiemo Ray Data      {c:8.1f} utt/s  (block {block_size}, ok {info['ok']}, errors {info['errors']}; "
          f"warm-up run that starts the workers: {startup:.1f} s, not counted)")
    print(f"  (c) / (cores x (a)) = {row['c_over_cores_a']:.2f}   target >= 0.90")
    print(f"  (c) / (b)           = {row['c_over_b']:.2f}   target >= 1.00")
    per_core = c / cores
    hours = 500_000 / (per_core * 100) / 3600
    print(f"  projection: 500,000 utterances on 100 cores at {per_core:.1f} utt/s/core = {hours:.2f} h "
          f"(at the loop rate (a): {500_000 / (a * 100) / 3600:.2f} h)")
    row["hours_500k_per_100_cores"] = hours
    return row


def synthetic_files(n: int, tmp: Path):
    """n synthetic utterances rendered to 16 kHz WAV (outside any timing) and their manifest."""
    from semiemo.corpora.manifest import read_manifest
    from semiemo.corpora.synthetic import SynthConfig, write_corpus

    cfg = SynthConfig(n_acted=n // 2, n_wild_labeled=n - n // 2, n_unlabeled=0, seed=0, visual_in_manifest=False)
    t0 = time.perf_counter()
    manifest_path = write_corpus(cfg, tmp / "synthetic", write_audio=True, workers=os.cpu_count() or 1, progress=False)
    manifest = read_manifest(manifest_path)
    manifest["path"] = [str(tmp / "synthetic" / p) for p in manifest["path"]]
    print(f"(rendered {n} synthetic utterances to WAV in {time.perf_counter() - t0:.1f} s, not timed below)")
    return manifest


# ------------------------------------------------------------------------------------------------
# streaming memory
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RmsConfig:
    eps: float = 1e-8


class RmsStats:
    """A cheap featurizer ([rms, peak, seconds]): the memory test measures the pipeline, not openSMILE."""

    name: ClassVar[str] = "rms_stats"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()
    config = RmsConfig()

    def schema(self):
        from semiemo.features.base import FieldSpec

        return {"rms_stats": FieldSpec((3,))}

    def __call__(self, batch):
        rows = [[np.sqrt(np.mean(a * a) + self.config.eps), np.abs(a).max(), a.size / 16_000] for a in batch["audio"]]
        return {"rms_stats": np.asarray(rows, np.float32)}


class DurationColumn:
    """Reads the manifest's `duration`, no audio: measures the driver alone at sizes where rendering
    espeak audio would take hours on a laptop (the driver never touches audio either way)."""

    name: ClassVar[str] = "duration_column"
    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("duration",)
    config = RmsConfig()

    def schema(self):
        from semiemo.features.base import FieldSpec

        return {"duration_column": FieldSpec((1,))}

    def __call__(self, batch):
        return {"duration_column": np.asarray(batch["duration"], np.float32).reshape(-1, 1)}


def memory_child(n: int, store: str, block_size: int, audio: bool) -> None:
    """Runs in a fresh process: featurize n synthetic rows (audio rendered on workers), print peak RSS."""
    import ray.cloudpickle

    from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest
    from semiemo.features import featurize
    from semiemo.jobs.ray_runtime import init_ray

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cfg = SynthConfig(n_acted=0, n_wild_labeled=0, n_unlabeled=n, seed=1, visual_in_manifest=False)
    manifest = synthesize_manifest(cfg)
    init_ray()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    featurizer = RmsStats() if audio else DurationColumn()
    report = featurize(manifest, [featurizer], store_root=store, block_size=block_size, progress=False)
    seconds = time.perf_counter() - t0
    c = report.featurizers[featurizer.name]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "peak_rss_mb": peak, "rss_before_featurize_mb": rss_before, "seconds": seconds,
                      "ok": c.ok, "errors": c.errors, "blocks": c.blocks_total}))


def memory(sizes: list[int], tmp: Path, block_size: int, audio: bool) -> list[dict]:
    what = "synthetic audio rendered on workers" if audio else "no audio (--memory-no-audio)"
    print(f"\n== streaming memory: peak driver RSS, cheap featurizer, {what}")
    rows = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--_memory-child", str(n), "--_store", str(tmp / f"mem-{n}"),
               "--block-size", str(block_size)] + ([] if audio else ["--memory-no-audio"])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            raise SystemExit(f"memory run n={n} failed")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["audio"] = audio
        rows.append(row)
        print(f"  n={n:>7}: peak driver RSS {row['peak_rss_mb']:7.0f} MB (manifest+Ray loaded: "
              f"{row['rss_before_featurize_mb']:.0f} MB), {row['seconds']:.0f} s, {n / row['seconds']:.0f} utt/s, "
              f"ok {row['ok']}, errors {row['errors']}, {row['blocks']} shards")
    if len(rows) >= 2:
        growth = rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]
        print(f"  growth {rows[0]['n']} -> {rows[-1]['n']}: {growth:+.0f} MB; target: flat, <= 1536 MB "
              f"({'met' if max(r['peak_rss_mb'] for r in rows) <= 1536 else 'NOT met'})")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--synthetic-n", type=int, default=400, help="synthetic utterances for the throughput runs")
    p.add_argument("--memory-n", default="1000,4000", help="comma-separated corpus sizes for the memory runs "
                                                          "(the issue's: 10000,100000)")
    p.add_argument("--memory-no-audio", action="store_true", help="memory runs with a featurizer that reads a "
                   "manifest column instead of rendering audio (fast at 100k; the driver's work is the same)")
    p.add_argument("--block-size", type=int, default=500, help="rows per shard in the memory runs")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=1, help="throughput repeats; the best is kept")
    p.add_argument("--skip-casia", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--out", default=None, help="write the measured numbers as JSON here")
    p.add_argument("--_memory-child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--_store", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args._memory_child is not None:
        memory_child(args._memory_child, args._store, args.block_size, audio=not args.memory_no_audio)
        return

    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    results: dict = {"throughput": []}
    with tempfile.TemporaryDirectory(prefix="bench_featurize_") as tmp_name:
        tmp = Path(tmp_name)
        from semiemo.paths import casia_root

        corpora = {}
        if not args.skip_casia and casia_root().is_dir():
            from semiemo.corpora.casia import read_casia

            corpora["casia"] = read_casia()
        elif not args.skip_casia:
            print(f"(CASIA not found at {casia_root()}: skipped)")
        if args.synthetic_n > 0:
            corpora["synthetic"] = synthetic_files(args.synthetic_n, tmp)
        base = {name: baselines(m, args.cores, args.repeats) for name, m in corpora.items()}
        init_ray(num_cpus=args.cores)
        for name, m in corpora.items():
            results["throughput"].append(report_throughput(name, m, args.cores, tmp, args.repeats, base[name]))
        shutdown_ray()
        if not args.skip_memory:
            results["memory"] = memory([int(s) for s in args.memory_n.split(",")], tmp, args.block_size,
                                       audio=not args.memory_no_audio)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
