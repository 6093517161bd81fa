"""Audio-view featurization throughput: utterances x views per second vs plain featurization, same run.

On CASIA (`../shared/data/casia`, read in place; the first --n utterances in utt_id order), with Ray
already started, each into a fresh store:
  (a) plain `featurize(manifest, [feature])`                       -> utterances/s
  (b) `featurize(manifest, [AudioViews(feature, policy, K)])`     -> utterances x views/s
for each policy asked for. Rendering a view costs the augmentation plus one featurizer call, so the
ideal ratio (b)/(a) is just below 1 (rendering is cheap next to IS10); a ratio far below 1 is overhead.
Falls back to synthetic utterances rendered to WAV when CASIA is absent (said in the output).

    python bench/bench_audio_views.py [--n 240] [--views 4] [--policies weak,strong] [--feature is10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
CASIA = ROOT.parent / "shared" / "data" / "casia"


def corpus(n: int, tmp: Path):
    """(manifest of n utterances, a label for the output)."""
    from semiemo.corpora import load_corpus

    if CASIA.is_dir():
        manifest = load_corpus(f"casia:{CASIA}")
        manifest = manifest.sort_values("utt_id").iloc[:n].reset_index(drop=True)
        return manifest, f"CASIA ({CASIA}), first {len(manifest)} utterances by utt_id"
    import numpy as np
    import pandas as pd
    import soundfile as sf

    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        t = np.arange(int(16000 * (1.2 + 0.7 * rng.random()))) / 16000
        x = 0.2 * np.sin(2 * np.pi * (110 + 80 * rng.random()) * t * (1 + 0.05 * np.sin(4 * t))) + 0.003 * rng.normal(size=t.size)
        path = tmp / f"u{i:05d}.wav"
        sf.write(path, x.astype(np.float32), 16000)
        rows.append({"utt_id": f"u{i:05d}", "corpus": "tones", "split_group": "s", "speaker": "s", "domain": "acted",
                     "labeled": True, "label": "neutral", "path": str(path)})
    return pd.DataFrame(rows), f"CASIA absent: {n} synthetic tones written to WAV"


def timed(manifest, featurizers, store: str) -> tuple[float, object]:
    from semiemo.features.pipeline import featurize

    t0 = time.perf_counter()
    report = featurize(manifest, featurizers, store_root=store, progress=False, progress_lines=False, block_size=32)
    return time.perf_counter() - t0, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--policies", default="weak,strong")
    ap.add_argument("--feature", default="is10")
    ap.add_argument("--cpus", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()

    from semiemo.features.audio_views import make_views
    from semiemo.features.registry import make_featurizer
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    with tempfile.TemporaryDirectory() as tmp:
        manifest, what = corpus(args.n, Path(tmp))
        init_ray(num_cpus=args.cpus)
        try:
            # warm-up: Ray Data's first pass starts its executor; keep it out of both timings
            timed(manifest.iloc[:8], [make_featurizer(args.feature)], f"{tmp}/warm")
            plain_s, plain = timed(manifest, [make_featurizer(args.feature)], f"{tmp}/plain")
            rows = [("plain", 1, plain_s, plain)]
            for policy in [p.strip() for p in args.policies.split(",") if p.strip()]:
                seconds, report = timed(manifest, make_views([args.feature], args.views, policy), f"{tmp}/{policy}")
                rows.append((policy, args.views, seconds, report))
        finally:
            shutdown_ray()
    n = len(manifest)
    print(f"{what}; feature {args.feature}; Ray with {args.cpus} CPUs; block size 32")
    print(f"{'run':<8} {'views':>5} {'wall s':>8} {'utt/s':>8} {'utt x views/s':>14} {'vs plain':>9} {'ok':>6} {'errors':>6}")
    base = n / plain_s
    for name, k, seconds, report in rows:
        counts = next(iter(report.featurizers.values()))
        rate = n * k / seconds
        print(f"{name:<8} {k:>5} {seconds:>8.1f} {n / seconds:>8.1f} {rate:>14.1f} {rate / base:>8.2f}x "
              f"{counts.ok:>6} {counts.errors:>6}")


if __name__ == "__main__":
    main()
