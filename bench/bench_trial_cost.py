"""What one trial of an analysis costs at a budget, and whether its premises' quantities hold there.

Sizing `--budget full` for a machine needs, per analysis, a trial's wall time and memory and the
quantities its premises test (the unlabeled term's share of the loss, the selected epoch against the
ramp-up, a teacher's accuracy). This runs one trial exactly as Tune would build it (`experiment_config`
on the spec at the budget, `run_experiment`), outside Tune, on `--threads` torch threads, sampling
the process's peak RSS, and prints them measured in this run.

    python bench/bench_trial_cost.py mmmd_temperature --budget full --param method_params.temperature=0.3
    python bench/bench_trial_cost.py ssgan_table2 --set experiment.train.epochs=2 --param arm=ssgan

`--param` sets a grid parameter (one value); `--set` overrides the spec like a YAML override (dotted
path = YAML value) before the trial is built — to probe a size before writing it into the file.
Features are read from (or written to) the store under $SEMIEMO_HOME, as a sweep would.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))


def _peak_rss_sampler(stop: threading.Event, peak: list[int]) -> None:
    """Process + children RSS every 0.5 s (psutil, where installed; else only `ru_maxrss` at the end)."""
    try:
        import psutil
    except ImportError:
        return
    proc = psutil.Process()
    while not stop.wait(0.5):
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            continue
        peak[0] = max(peak[0], rss)


def _parse(pairs: list[str]) -> dict[str, object]:
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected PATH=VALUE, got {pair!r}")
        out[key] = yaml.safe_load(raw)
    return out


def _first_grid_point(spec) -> dict[str, object]:
    from semiemo.tune.space import grid_points

    points = list(grid_points(spec))
    return dict(points[0]) if points else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("analysis", help="search_spaces/<analysis>.yaml")
    ap.add_argument("--budget", default="full", choices=["quick", "full", "paper"])
    ap.add_argument("--param", action="append", default=[], help="grid parameter PATH=VALUE (default: the grid's first point)")
    ap.add_argument("--set", action="append", default=[], help="spec override PATH=VALUE applied before the trial is built")
    ap.add_argument("--seed", type=int, default=None, help="default: the spec's first seed")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a Tune trial gets its CPUs' worth)")
    args = ap.parse_args()

    import torch

    from semiemo.analysis.reproduce import search_spaces_dir
    from semiemo.features import load_featureset
    from semiemo.tune.space import SearchSpace, apply_overrides, experiment_config, load_spec
    from semiemo.train.experiment import run_experiment

    torch.set_num_threads(args.threads)
    spec = load_spec(search_spaces_dir() / f"{args.analysis}.yaml", budget=args.budget)
    if args.set:   # the same walk as a YAML's quick:/paper_budget: overrides (parameters.<dotted path> included)
        spec = SearchSpace.model_validate(apply_overrides(spec.model_dump(), _parse(args.set), args.analysis, "--set"))
    params = {**_first_grid_point(spec), **_parse(args.param)}
    params.pop("seed", None)
    seed = args.seed if args.seed is not None else spec.seeds[0]
    cfg = experiment_config(spec, params, seed=seed)
    cfg.train.num_threads = args.threads
    cfg.output_dir = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"trial_cost_{args.analysis}_{os.getpid()}")
    print(f"{args.analysis} --budget {args.budget}: params {params}, seed {seed}, method {cfg.method}, "
          f"epochs {cfg.train.epochs}, folds {cfg.protocol.max_folds or cfg.protocol.folds}, "
          f"method_params {cfg.method_params}", flush=True)

    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_peak_rss_sampler, args=(stop, peak), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    data = load_featureset(cfg.corpus, list(cfg.features), store_root=cfg.feature_store)
    t_load = time.perf_counter() - t0
    epochs: list[dict] = []
    t1 = time.perf_counter()
    frame = run_experiment(cfg, data=data, report=epochs.append)
    t_run = time.perf_counter() - t1
    stop.set()
    peak[0] = max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)  # KiB on Linux

    cols = [c for c in ("fold", "test_ua", "test_f1_macro", "selected_epoch", "selection_start_epoch", "train_steps",
                        "train_time_s", "wall_time_s", "unlabeled_loss_active_share", "unlabeled_term_share_mean",
                        "mask_rate_mean", "unlabeled_loss_mean", "teacher_accuracy") if c in frame.columns]
    print(frame[cols].to_string(index=False))
    steps = float(frame["train_steps"].sum()) if "train_steps" in frame else float("nan")
    train_s = float(frame["train_time_s"].sum()) if "train_time_s" in frame else float("nan")
    summary = {"analysis": args.analysis, "budget": args.budget, "params": params, "load_s": round(t_load, 1),
               "run_s": round(t_run, 1), "train_s": round(train_s, 1), "steps": steps,
               "s_per_step": round(train_s / steps, 4) if steps else None, "peak_rss_gb": round(peak[0] / 2**30, 2),
               "epochs_reported": len(epochs)}
    print("trial cost:", json.dumps(summary), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as e:   # SpecError is a ValueError: a bad name, arm or override
        sys.exit(f"bench_trial_cost: {e}\n(analyses: the stems of search_spaces/*.yaml; `semiemo reproduce --list`)")
