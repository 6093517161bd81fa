"""Per-trial overhead of a semiemo sweep (Ray Tune + OptunaSearch + SQLite study + TensorBoard HParams +
results table) over bare Optuna running the same objective in-process, for the same number of trials.

The objective is the real `run_experiment` (MixMatch, 3 epochs) on a small Gaussian FeatureSet, so the
training work is identical on both sides; trials run one at a time on both sides (max_concurrent 1).
Target: ≤ 1 s per trial.

    .venv/bin/python bench/bench_sweep_overhead.py [--trials 8] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # gaussian_featureset: a FeatureSet straight from numpy
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def spec_dict(trials: int, epochs: int) -> dict:
    return {
        "name": "bench_overhead",
        "experiment": {"corpus": "gauss", "features": ["egemaps"], "method": "mixmatch", "model_hidden": [32],
                       "protocol": {"name": "speaker_kfold", "folds": 2, "max_folds": 1},
                       "train": {"epochs": epochs, "batch_size": 16, "num_threads": 1}},
        "parameters": {"method_params.unsup_weight": {"loguniform": [0.001, 1.0]},
                       "train.lr": {"loguniform": [0.0005, 0.01]}},
        "seeds": [0], "num_samples": trials, "max_concurrent_trials": 1, "resources_per_trial": {"cpu": 1},
    }


def bare_optuna(spec, data, trials: int) -> float:
    import optuna
    import torch

    from semiemo.train.experiment import run_experiment
    from semiemo.tune.space import experiment_config

    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp(prefix="bench_bare_"))

    def objective(trial: optuna.Trial) -> float:
        params = {"method_params.unsup_weight": trial.suggest_float("method_params.unsup_weight", 0.001, 1.0, log=True),
                  "train.lr": trial.suggest_float("train.lr", 0.0005, 0.01, log=True)}
        cfg = experiment_config(spec, params)
        cfg.output_dir = str(out / f"t{trial.number}")
        return float(run_experiment(cfg, data=data)["val_ua"].mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args()

    from gaussian_featureset import gaussian_featureset

    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.tune.runner import run_sweep
    from semiemo.tune.space import spec_from_dict

    spec = spec_from_dict(spec_dict(args.trials, args.epochs))
    data = gaussian_featureset(n_per_class_speaker=10, speakers=4, dim=32, unlabeled=160)

    bare_optuna(spec, data, 1)  # warm imports and first-call costs out of both measurements
    bare_s = bare_optuna(spec, data, args.trials)

    t0 = time.perf_counter()
    init_ray(num_cpus=2)
    ray_init_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as store:
        t0 = time.perf_counter()
        table = run_sweep(spec, storage_dir=store, data=data, verbose=0)
        sweep_s = time.perf_counter() - t0
    shutdown_ray()
    n = table["trial_id"].nunique()
    assert n == args.trials, f"sweep ran {n} trials, expected {args.trials}"

    per_bare, per_sweep = bare_s / args.trials, sweep_s / args.trials
    print(f"trials                    {args.trials} (MixMatch, {args.epochs} epochs, {len(data)} rows, one at a time)")
    print(f"bare Optuna in-process    {bare_s:8.2f} s   {per_bare:6.2f} s/trial")
    print(f"semiemo sweep (Ray Tune)  {sweep_s:8.2f} s   {per_sweep:6.2f} s/trial   (+ Ray start {ray_init_s:.2f} s, once)")
    print(f"overhead per trial        {per_sweep - per_bare:+8.2f} s   (target ≤ 1 s)   ratio {sweep_s / bare_s:.2f}x")
    print(f"machine load average      {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
