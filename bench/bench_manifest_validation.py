"""How long validating and hashing a 500k-row manifest takes (synthetic-like rows, and rows with audio paths).

    .venv/bin/python bench/bench_manifest_validation.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from semiemo.corpora.manifest import manifest_hash, read_manifest, validate_manifest, write_manifest

LABELS = ["neutral", "sadness", "disgust", "anger", "happiness", "boredom"]


def synthetic_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    speakers = np.char.add("spk", rng.integers(0, 5000, n).astype(str))
    labels = np.array(LABELS)[rng.integers(0, len(LABELS), n)]
    cfg = json.dumps({"acted": 270, "wild_labeled": 30000, "unlabeled": 470000, "seed": 0, "emotions": LABELS,
                      "frames": 18, "face_dim": 342, "inconsistency": 0.5})
    words = np.array(["I really", "could you please", "this is so", "never mind the", "what a"])
    tails = np.array(["weather today", "bill again", "song you played", "route home", "joke"])
    return pd.DataFrame({
        "utt_id": np.char.add("syn_", np.arange(n).astype(str)),
        "corpus": "synthetic",
        "split_group": speakers,
        "speaker": speakers,
        "domain": np.where(np.arange(n) < 270, "acted", "wild"),
        "labeled": np.arange(n) < 30270,
        "label": labels,
        "oracle_label": labels,
        "text": np.char.add(np.char.add(words[rng.integers(0, 5, n)], " "), tails[rng.integers(0, 5, n)]),
        "votes": [list(v) for v in np.array(LABELS)[rng.integers(0, 6, (n, 3))]],
        "arousal": rng.normal(size=n),
        "valence": rng.normal(size=n),
        "synth_config": cfg,
        "synth_index": np.arange(n),
    })


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=500_000)
    args = ap.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    df = synthetic_like(n, rng)

    problems, t_validate = timed(validate_manifest, df, label_set=LABELS)
    print(f"validate, {n} synthetic rows (no audio files):     {t_validate:7.2f} s  ({n / t_validate:,.0f} rows/s), "
          f"{len(problems)} problems")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_dirs, per_dir = 200, 100
        for d in range(n_dirs):
            (tmp / f"d{d}").mkdir()
            for f in range(per_dir):
                (tmp / f"d{d}" / f"f{f}.wav").touch()
        files = np.array([f"d{d}/f{f}.wav" for d in range(n_dirs) for f in range(per_dir)])
        with_paths = df.drop(columns=["synth_config", "synth_index"]).assign(path=files[np.arange(n) % len(files)])
        missing = rng.choice(n, 1000, replace=False)
        with_paths.loc[missing, "path"] = "d0/gone.wav"
        bad_text = rng.choice(n, 1000, replace=False)
        with_paths.loc[bad_text, "text"] = "就是下雨也去".encode("gb18030").decode("latin-1")
        problems, t_paths = timed(validate_manifest, with_paths, root=tmp, label_set=LABELS)
        print(f"validate, {n} rows with paths ({n_dirs} folders), 2,000 bad: {t_paths:7.2f} s  "
              f"({n / t_paths:,.0f} rows/s), {len(problems)} problems")

        h, t_hash = timed(manifest_hash, df)
        print(f"manifest_hash, {n} rows (incl. list column votes):    {t_hash:7.2f} s")
        _, t_write = timed(write_manifest, df, tmp / "manifest.parquet")
        back, t_read = timed(read_manifest, tmp / "manifest.parquet")
        h2, t_hash2 = timed(manifest_hash, back)
        print(f"write_manifest parquet: {t_write:.2f} s, read_manifest: {t_read:.2f} s, "
              f"hash after round trip: {t_hash2:.2f} s, equal: {h == h2}")
        print(f"ratio validate(paths) / validate(synthetic): {t_paths / t_validate:.2f}")


if __name__ == "__main__":
    main()
