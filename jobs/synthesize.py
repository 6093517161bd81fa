"""`ray job submit --working-dir . -- python jobs/synthesize.py --out DIR --acted N --wild-labeled N --unlabeled N`

Writes the synthetic corpus manifest; with `--write-audio` the audio is rendered by Ray tasks across
the cluster, one block of utterances per task (utterance i is a pure function of (config, i)).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import _bootstrap  # noqa: F401


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--acted", type=int, default=270)
    p.add_argument("--wild-labeled", type=int, default=300)
    p.add_argument("--unlabeled", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write-audio", action="store_true")
    p.add_argument("--block-size", type=int, default=200)
    p.add_argument("--address", default=None, help="Ray address; default $RAY_ADDRESS or a local Ray")
    args = p.parse_args(argv)

    from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest
    from semiemo.corpora.manifest import write_manifest
    from semiemo.jobs.ray_runtime import init_ray

    t0 = time.perf_counter()
    cfg = SynthConfig(seed=args.seed, n_acted=args.acted, n_wild_labeled=args.wild_labeled, n_unlabeled=args.unlabeled)
    manifest = synthesize_manifest(cfg)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    if args.write_audio:
        import ray

        init_ray(args.address)
        render = ray.remote(_render_block)
        indices = manifest["synth_index"].to_numpy()
        utt_ids = manifest["utt_id"].to_numpy()
        blocks = [(int(s), min(int(s) + args.block_size, len(manifest))) for s in range(0, len(manifest), args.block_size)]
        refs = [render.remote(cfg.to_json(), indices[a:b].tolist(), utt_ids[a:b].tolist(), str(out / "audio")) for a, b in blocks]
        paths: dict[str, str] = {}
        for block_paths in ray.get(refs):
            paths.update(block_paths)
        manifest["path"] = manifest["utt_id"].map(paths)
        written = len(paths)
    write_manifest(manifest, out / "manifest.parquet")
    summary = {
        "rows": len(manifest),
        "audio_files": written,
        "manifest": str(out / "manifest.parquet"),
        "seconds": round(time.perf_counter() - t0, 2),
        "domains": manifest["domain"].value_counts().to_dict(),
        "labeled": int(manifest["labeled"].sum()),
    }
    print(json.dumps(summary))
    return summary


def _render_block(cfg_json: str, indices: list[int], utt_ids: list[str], audio_dir: str) -> dict[str, str]:
    import soundfile as sf

    from semiemo.corpora.synthetic import render_audio

    Path(audio_dir).mkdir(parents=True, exist_ok=True)
    paths = {}
    for i, utt_id in zip(indices, utt_ids):
        path = Path(audio_dir) / f"{utt_id}.wav"
        sf.write(path, render_audio(cfg_json, i), 16000, subtype="PCM_16")
        paths[utt_id] = str(path)
    return paths


if __name__ == "__main__":
    main()
