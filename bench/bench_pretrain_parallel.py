"""Wall time of a sweep driver's front-end pre-training (paper 004, `avspnet_iemocap_4class --budget quick`):
one after another on the driver (how `_prepare_on_driver` did it: `recipes.pretrained.resolve` per
(request, seed)) vs parallel Ray tasks of the trial's CPUs (`tune.pretrain_tasks`, what it does now).

Each leg runs in its own process with its own local Ray (`--cpus`, default 2) and a fresh temporary
SEMIEMO_HOME, so no front-end is found pre-made. The wild corpus's features are the same input to both
legs and are made once first (timed and printed), then copied into each leg's empty store: featurizing
is done once on the driver either way, and timing it twice would only double the run.

    HEAVY_BOTH=1 /work/bin/heavy python bench/bench_pretrain_parallel.py [--cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "search_spaces" / "avspnet_iemocap_4class.yaml"


def _requests(spec):
    """Every distinct (front-end request, seed) the sweep's trials ask for (as `_prepare_on_driver` lists them)."""
    from semiemo.methods.base import hparams_from_dict
    from semiemo.methods.registry import get_method
    from semiemo.tune.space import experiment_config, grid_points

    pairs, seen = [], set()
    for params in grid_points(spec):
        cfg = experiment_config(spec, params, seed=spec.seeds[0])
        cls = get_method(cfg.method)
        for request in cls.plan(hparams_from_dict(cls.HParams, cfg.method_params)).pretrained.values():
            for seed in spec.seeds:
                if repr((sorted(request.items()), seed)) not in seen:
                    seen.add(repr((sorted(request.items()), seed)))
                    pairs.append((request, seed))
    return pairs


def leg(kind: str, cpus: int) -> dict:
    """One measurement in this process (SEMIEMO_HOME / SEMIEMO_FEATURE_STORE set by the caller)."""
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.tune.space import load_spec

    spec = load_spec(SPEC, budget="quick")
    pairs = _requests(spec)
    init_ray(num_cpus=cpus)
    try:
        started = time.perf_counter()
        if kind == "featurize":
            from semiemo.recipes.avspnet_pretrain import featurize_pretrain_corpus, recipe_config

            for corpus in {r["corpus"]: r for r, _ in pairs}.values():
                featurize_pretrain_corpus(recipe_config(corpus, 0))
        elif kind == "serial":
            from semiemo.recipes.pretrained import resolve

            for request, seed in pairs:
                resolve(request, seed=seed)
        else:
            from semiemo.tune.runner import _prepare_on_driver

            _prepare_on_driver(spec, address=None)
        seconds = time.perf_counter() - started
    finally:
        shutdown_ray()
    from semiemo.train.pretrained import PretrainedStore

    return {"leg": kind, "seconds": seconds, "front_ends": len(pairs), "stored": len(PretrainedStore().keys())}


def run_leg(kind: str, cpus: int, features_from: Path | None, work: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))
    store = home / "features"
    if features_from is not None:
        shutil.copytree(features_from, store)
    env = {**os.environ, "SEMIEMO_HOME": str(home), "SEMIEMO_FEATURE_STORE": str(store),
           "PYTHONPATH": str(ROOT / "platform"), "HF_HUB_OFFLINE": "1"}
    env.pop("SEMIEMO_STORAGE", None)
    # Ray starts its workers at nice 15; the serial leg trains in the driver at nice 0. On a machine that
    # is busy with other (niced) work that alone would favour the serial leg, so both legs compute at 0.
    env.setdefault("RAY_worker_niceness", "0")
    out = subprocess.run([sys.executable, __file__, "--leg", kind, "--cpus", str(cpus)], env=env, cwd=home,
                         capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{kind} leg failed (exit {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return {**json.loads(lines[-1]), "store": store}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--leg", choices=["featurize", "serial", "parallel"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.leg:
        print(json.dumps(leg(args.leg, args.cpus)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-pretrain-") as tmp:
        work = Path(tmp)
        feat = run_leg("featurize", args.cpus, None, work)
        print(f"wild corpus featurized once (shared input): {feat['seconds']:.1f} s")
        serial = run_leg("serial", args.cpus, feat["store"], work)
        parallel = run_leg("parallel", args.cpus, feat["store"], work)
    for r in (serial, parallel):
        assert r["stored"] == r["front_ends"], f"{r['leg']}: {r['stored']} of {r['front_ends']} front-ends stored"
    print(f"avspnet_iemocap_4class --budget quick: {serial['front_ends']} front-ends, local Ray {args.cpus} CPUs, "
          f"load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'leg':<44}{'wall s':>9}")
    print(f"{'serial on the driver (resolve per recipe/seed)':<44}{serial['seconds']:>9.1f}")
    print(f"{'parallel Ray tasks (_prepare_on_driver now)':<44}{parallel['seconds']:>9.1f}")
    print(f"speed-up serial/parallel: {serial['seconds'] / parallel['seconds']:.2f}x")


if __name__ == "__main__":
    main()
