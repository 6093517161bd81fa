"""How fast the synthetic corpus is generated: audio utterances/s per core, and manifest rows/s.

    .venv/bin/python bench/bench_synthesize.py [--utterances 300] [--manifest-rows 500000]

Audio: render_audio (espeak-ng + resampling + wild noise) in one process, then the same work split
over 2 processes. Manifest: metadata rows/s without the visual columns (what a 500k-row unlabeled
corpus uses) and with them (F x 342 face features + F x 7 FER probabilities per row).
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def _render_range(args: tuple[str, int, int]) -> tuple[int, float, float]:
    from semiemo.corpora.synthetic import render_audio

    cfg_json, start, stop = args
    seconds = 0.0
    cpu0 = time.process_time()
    for i in range(start, stop):
        seconds += render_audio(cfg_json, i).size / 16_000
    return stop - start, seconds, time.process_time() - cpu0


def bench_audio(n: int, processes: int) -> tuple[float, float, float]:
    """(utterances/s wall, audio seconds per wall second, utterances per CPU-second) over `processes`.

    The CPU-second rate is what one uncontended core delivers; wall rates drop when the machine
    is shared (compare with the load average printed first)."""
    from semiemo.corpora.synthetic import SynthConfig

    cfg = SynthConfig(n_acted=n // 3, n_wild_labeled=n // 3, n_unlabeled=n - 2 * (n // 3), visual_in_manifest=False)
    cfg_json = cfg.to_json()
    _render_range((cfg_json, 0, 2))  # warm up espeak + imports in this process
    bounds = np.linspace(0, n, processes + 1).astype(int)
    jobs = [(cfg_json, int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    t0 = time.perf_counter()
    if processes == 1:
        results = [_render_range(jobs[0])]
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            list(pool.map(_render_range, [(cfg_json, 0, 2)] * processes))  # warm every worker
            t0 = time.perf_counter()
            results = list(pool.map(_render_range, jobs))
    wall = time.perf_counter() - t0
    done = sum(r[0] for r in results)
    audio_s = sum(r[1] for r in results)
    cpu = sum(r[2] for r in results)
    return done / wall, audio_s / wall, done / cpu


def bench_manifest(n: int, visual: bool) -> float:
    from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest

    cfg = SynthConfig(n_acted=0, n_wild_labeled=0, n_unlabeled=n, visual_in_manifest=visual)
    t0 = time.perf_counter()
    df = synthesize_manifest(cfg)
    wall = time.perf_counter() - t0
    assert len(df) == n
    return n / wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--utterances", type=int, default=300)
    p.add_argument("--manifest-rows", type=int, default=500_000, help="rows of the no-visual manifest run")
    p.add_argument("--visual-rows", type=int, default=10_000, help="rows of the with-visual manifest run")
    args = p.parse_args()
    print(f"cpu cores visible: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")

    one, one_audio, one_cpu = bench_audio(args.utterances, 1)
    print(f"audio, 1 process : {one:7.1f} utterances/s wall  ({one_audio:6.1f} s of audio per s); "
          f"{one_cpu:7.1f} utterances per CPU-second")
    two, two_audio, two_cpu = bench_audio(args.utterances, 2)
    print(f"audio, 2 processes: {two:7.1f} utterances/s wall total, {two / 2:7.1f} per process  "
          f"({two_audio:6.1f} s of audio per s); {two_cpu:7.1f} utterances per CPU-second")
    print(f"ratio 2 processes / 1 process (wall): {two / one:.2f}x")

    rows = bench_manifest(args.manifest_rows, visual=False)
    print(f"manifest, no visual : {rows:10,.0f} rows/s  ({args.manifest_rows:,} rows in {args.manifest_rows / rows:.1f} s)")
    vrows = bench_manifest(args.visual_rows, visual=True)
    print(f"manifest, with visual: {vrows:10,.0f} rows/s  ({args.visual_rows:,} rows in {args.visual_rows / vrows:.1f} s)")
    print(f"ratio manifest rows/s / audio utterances/s (1 core): {rows / one:,.0f}x")


if __name__ == "__main__":
    main()
