"""Trainer overhead over a plain PyTorch loop, and the baselines' leave-one-speaker-out UA on CASIA IS10.

Part 1 runs `semiemo.train.loop.fit_fold` (streams, hooks, loss bookkeeping, validation metrics, best
state, test evaluation) and a hand-written PyTorch loop (same model, optimizer, batch size and number
of steps, per-epoch validation, test score of the final model) side by side, alternating, and prints
per-epoch times and ratios (target: overhead <= 15 %) against two plain loops:
  - "plain+metrics": validation scored with the same `classification_metrics` (UA, WA, F1s, WAP,
    confusion) the trainer logs — the ratio is the cost of the trainer's machinery;
  - "plain+UA": validation scored with sklearn's balanced accuracy only — the ratio also includes
    the cost of computing every metric every epoch (~25 ms per epoch here).
Times are process CPU seconds (`time.process_time`, one torch thread): on a shared machine wall time
swings 5x with other users' load, CPU time much less; medians over alternating repeats.

Part 2 (skip with --skip-casia) trains `supervised` (MLP, ELU) and `svm` with leave-one-speaker-out on
CASIA IS10 functionals via `load_featureset('casia', ['is10'])` (featurizes into the store on first use).

    .venv/bin/python bench/bench_trainer_overhead.py [--rows 4096] [--epochs 5] [--repeats 3] [--skip-casia]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from semiemo.methods.base import ModelSpec  # noqa: E402
from semiemo.models import build_classifier  # noqa: E402
from semiemo.train.config import TrainConfig  # noqa: E402
from semiemo.train.loop import FoldData, fit_fold  # noqa: E402
from semiemo.train.streams import Split  # noqa: E402


def gaussian_fold(rows: int, dim: int, classes: int, seed: int = 0) -> FoldData:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1.0, size=(classes, dim))
    def split(n):
        y = rng.integers(classes, size=n)
        x = (centers[y] + rng.normal(size=(n, dim))).astype(np.float32)
        return Split({"egemaps": x}, targets=np.eye(classes, dtype=np.float32)[y])
    return FoldData(train=split(rows), val=split(rows // 4), test=split(rows // 4),
                    class_names=[f"c{i}" for i in range(classes)])


def plain_loop(data: FoldData, spec: ModelSpec, epochs: int, batch: int, lr: float, seed: int,
               full_metrics: bool = False) -> float:
    """What one would write by hand: same model, Adam, shuffled minibatches, validation each epoch."""
    from semiemo.train.metrics import classification_metrics

    score = (lambda y, p: classification_metrics(y, p, spec.num_classes)["ua"]) if full_metrics else balanced_accuracy_score
    torch.manual_seed(seed)
    model = build_classifier(spec)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.tensor(data.train.inputs["egemaps"])
    t = torch.tensor(data.train.targets)
    xv, yv = torch.tensor(data.val.inputs["egemaps"]), data.val.targets.argmax(1)
    xt, yt = torch.tensor(data.test.inputs["egemaps"]), data.test.targets.argmax(1)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            logits = model({"egemaps": x.index_select(0, idx)})
            loss = -(t.index_select(0, idx) * F.log_softmax(logits, 1)).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            score(yv, model({"egemaps": xv}).argmax(1).numpy())
    with torch.no_grad():
        return float(score(yt, model({"egemaps": xt}).argmax(1).numpy()))


def overhead(rows: int, dim: int, epochs: int, batch: int, repeats: int) -> None:
    torch.set_num_threads(1)
    data = gaussian_fold(rows, dim, 6)
    spec = ModelSpec(input_shapes={"egemaps": (dim,)}, num_classes=6)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=1e-3, num_threads=1)
    fit_fold(data, "supervised", {}, cfg, spec, seed=0)  # warm-up (imports, allocator)
    plain_loop(data, spec, 1, batch, 1e-3, 0)
    times: dict[str, list[float]] = {"trainer": [], "plain+metrics": [], "plain+UA": []}
    for r in range(repeats):
        t0 = time.process_time()
        res = fit_fold(data, "supervised", {}, cfg, spec, seed=r)
        times["trainer"].append((time.process_time() - t0) / epochs)
        t0 = time.process_time()
        ua = plain_loop(data, spec, epochs, batch, 1e-3, r, full_metrics=True)
        times["plain+metrics"].append((time.process_time() - t0) / epochs)
        t0 = time.process_time()
        plain_loop(data, spec, epochs, batch, 1e-3, r, full_metrics=False)
        times["plain+UA"].append((time.process_time() - t0) / epochs)
        print(f"  repeat {r}: " + "  ".join(f"{k} {v[-1] * 1000:.1f} ms CPU/epoch" for k, v in times.items())
              + f"  (test UA trainer {res.test_metrics['ua']:.3f}, plain {ua:.3f})")
    med = {k: statistics.median(v) for k, v in times.items()}
    steps = -(-rows // batch)
    print(f"trainer overhead: {rows} rows x {dim} dims, batch {batch} ({steps} steps/epoch), {epochs} epochs, "
          f"median of {repeats}, 1 torch thread, CPU time")
    for plain in ("plain+metrics", "plain+UA"):
        ratio = med["trainer"] / med[plain]
        print(f"  trainer {med['trainer'] * 1000:.1f} ms/epoch vs {plain} {med[plain] * 1000:.1f} ms/epoch: "
              f"ratio {ratio:.3f}, overhead {100 * (ratio - 1):+.1f} % (target <= 15 %)")


def casia_loso(epochs: int, store: str | None) -> None:
    from semiemo.paths import casia_root

    if not casia_root().is_dir():
        print(f"CASIA not found at {casia_root()}: skipping the LOSO baselines")
        return
    from semiemo.features import load_featureset
    from semiemo.train.config import ExperimentConfig, ProtocolConfig
    from semiemo.train.experiment import run_experiment
    from semiemo.analysis.spread import over_seeds

    t0 = time.perf_counter()
    data = load_featureset("casia", ["is10"], store)
    print(f"CASIA IS10: {len(data)} rows, {data.groups['is10'].shape[1]} dims, loaded in {time.perf_counter() - t0:.1f} s"
          f" (dropped: {data.dropped or 'none'})")
    import tempfile

    out = tempfile.mkdtemp(prefix="bench_casia_")
    for method in ("supervised", "svm"):
        cfg = ExperimentConfig(name=f"bench-casia-{method}", corpus="casia", features=["is10"], method=method,
                               protocol=ProtocolConfig(name="loso"), output_dir=f"{out}/{method}",
                               train=TrainConfig(epochs=epochs, batch_size=64, num_threads=1))
        t0 = time.perf_counter()
        df = run_experiment(cfg, data)
        spread = over_seeds(df["test_ua"], df["seed"])
        print(f"CASIA LOSO {method:>10}: UA {spread.cell()} ({spread.describe()}; per fold "
              f"{', '.join(f'{u:.3f}' for u in df['test_ua'])}), WA {df['test_wa'].mean():.3f}, "
              f"{time.perf_counter() - t0:.1f} s")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--dim", type=int, default=88)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-casia", action="store_true", help="only measure the trainer overhead")
    p.add_argument("--casia-epochs", type=int, default=30)
    p.add_argument("--store", default=None, help="feature store root (default: $SEMIEMO_HOME/features)")
    args = p.parse_args(argv)
    overhead(args.rows, args.dim, args.epochs, args.batch, args.repeats)
    if not args.skip_casia:
        casia_loso(args.casia_epochs, args.store)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
