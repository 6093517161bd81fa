"""Benchmark: the semi-supervised baselines against supervised on the synthetic corpus, 10 % labels.

Every method runs through `run_experiment` on the same folds and the same labeled subsets (same
seeds), with its paper defaults except the phase lengths, which are scaled to the epoch budget.
Prints the Markdown table (test UA/WA/F1: mean ± 95 % CI over seeds of fold means, a range below 3
seeds; paired Δ UA against supervised, pseudo-label accuracy against the hidden oracle) and each method's UA as a ratio of
supervised, and writes comparison.md/.png.

    .venv/bin/python bench/bench_ssl_compare.py [--corpus synthetic] [--seeds 3] [--folds-per-seed 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="synthetic")
    ap.add_argument("--features", default="egemaps")
    ap.add_argument("--methods", default="supervised,pseudo_label,pi_model,temporal_ensembling,mean_teacher,"
                                          "mixmatch,fixmatch,sae")
    ap.add_argument("--label-fraction", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--folds-per-seed", type=int, default=1, help="first n of the 5 stratified folds per seed")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--steps-per-epoch", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--mu", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from semiemo.analysis.compare import markdown_table, run_comparison, summarize, write_report
    from semiemo.features import load_featureset
    from semiemo.storage import runs_root
    from semiemo.jobs.ray_runtime import shutdown_ray
    from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig

    out = Path(args.out) if args.out else runs_root() / "bench_ssl_compare"
    base = ExperimentConfig(
        name="bench-ssl", corpus=args.corpus, features=args.features.split(","),
        protocol=ProtocolConfig(name="kfold", folds=5, max_folds=args.folds_per_seed),
        label_fraction=args.label_fraction, seeds=list(range(args.seeds)), output_dir=str(out / "runs"),
        train=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, mu=args.mu,
                          steps_per_epoch=args.steps_per_epoch, num_threads=1),
    )
    third = max(1, args.epochs // 3)  # phase lengths: the methods' defaults are a third of 30 epochs
    params = {"pseudo_label": {"warmup_epochs": third}, "sae": {"pretrain_epochs": third}}
    methods = args.methods.split(",")
    params = {k: v for k, v in params.items() if k in methods}

    t0 = time.perf_counter()
    data = load_featureset(base.corpus, base.features)
    print(f"features: {len(data)} rows, groups {data.shapes()}, dropped {data.dropped}, {time.perf_counter() - t0:.1f} s")
    seconds: dict[str, float] = {}
    last = [time.perf_counter()]

    def done(method: str, rows) -> None:
        seconds[method] = time.perf_counter() - last[0]
        last[0] = time.perf_counter()
        print(f"  {method}: {len(rows)} runs, UA {rows['test_ua'].mean():.3f}, {seconds[method]:.1f} s", flush=True)

    try:
        results = run_comparison(base, methods, params, data=data, on_method_done=done)
    finally:
        shutdown_ray()
    summary = summarize(results)
    setup = (f"corpus `{args.corpus}`, features `{args.features}`, 5-fold stratified (first {args.folds_per_seed} "
             f"per seed), label fraction {args.label_fraction}, seeds 0..{args.seeds - 1}, {args.epochs} epochs × "
             f"{args.steps_per_epoch} steps, B={args.batch_size}, μ={args.mu}; phase lengths {params}")
    paths = write_report(results, out, title=f"SSL baselines vs supervised ({args.corpus}, "
                                              f"{args.label_fraction:.0%} labels)", setup=setup)
    print()
    print(setup)
    print()
    print(markdown_table(summary))
    print()
    sup = summary.set_index("method")["ua"].get("supervised")
    print("method                 UA / supervised UA   wall s")
    for _, r in summary.iterrows():
        ratio = r["ua"] / sup if sup else float("nan")
        print(f"{r['method']:<22} {ratio:>18.3f}   {seconds.get(r['method'], float('nan')):>6.1f}")
    print(f"\nwritten: {paths['markdown']} and {paths['chart']}")


if __name__ == "__main__":
    main()
