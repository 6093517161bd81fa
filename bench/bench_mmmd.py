"""mmmd training throughput against the `mixmatch` baseline on the same batches, and MCB's share of a step.

Batches have paper 000's shapes: IS10 (1,582), word statistics (14 x 384 = 5,376), social (7 + 34),
B = 256 labeled + 256 unlabeled rows (the spec's batch size, μ = 1). Timed per optimizer step
(train_step -> backward -> Adam step), after warm-up:
  - mixmatch: `mixmatch.train_step` (one early-fusion ELU MLP 128-64, same K, T, α, λ_U)
  - mmmd mix: the mixed pass (phase 3), 22 local paths + MCB d = 2048 + global classifier
  - mmmd sup: an acted / labeled-wild pass step (phases 1-2), labeled rows only
Samples/s counts labeled + unlabeled rows, as the trainer does. MCB share: the time of the MCB work
one mixed step does (K no-grad forwards on B rows, one forward + backward on (1 + K)·B rows), timed
on the isolated module with the same inputs, divided by the mixed step's time.

    .venv/bin/python bench/bench_mmmd.py [--steps 20] [--batch 256] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from semiemo.methods.base import Batch, ModelSpec, StepInfo  # noqa: E402
from semiemo.methods.mixmatch import MixMatch, MixMatchHParams  # noqa: E402
from semiemo.methods.mmmd import MMMD, MMMDHParams  # noqa: E402

SHAPES = {"is10": (1582,), "word_stats": (14 * 384,), "social": (41,)}
CLASSES = 6


def make_batch(n: int, device: torch.device, labeled: bool, seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    inputs = {k: torch.randn(n, *s, generator=g) for k, s in SHAPES.items()}
    y = torch.randint(0, CLASSES, (n,), generator=g)
    targets = torch.nn.functional.one_hot(y, CLASSES).float() if labeled else None
    return Batch(inputs=inputs, index=torch.arange(n), targets=targets, labels=y if labeled else None).to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(method, batches, phase: str | None, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per optimizer step."""
    opt = torch.optim.Adam(method.parameters_for_optimizer(), lr=1e-3)
    info = StepInfo(epoch=0, step=0, total_steps=10_000, num_epochs=1, phase=phase)
    for k in range(warmup + steps):
        if k == warmup:
            sync(device)
            t0 = time.perf_counter()
        labeled, unlabeled = batches[k % len(batches)]
        losses = method.train_step(labeled, unlabeled, info)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
    sync(device)
    return (time.perf_counter() - t0) / steps


def time_mcb(mcb, batch: int, k: int, steps: int, device: torch.device) -> float:
    """Seconds of the MCB work in one mixed step: K no-grad forwards on B rows + fwd/bwd on (1+K)·B rows."""
    xa = torch.randn((1 + k) * batch, mcb.sketch_x.in_dim, device=device, requires_grad=True)
    xt = torch.randn((1 + k) * batch, mcb.sketch_y.in_dim, device=device, requires_grad=True)
    for rep in range(2 + steps):
        if rep == 2:
            sync(device)
            t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(k):
                mcb(xa[:batch], xt[:batch])
        mcb(xa, xt).sum().backward()
    sync(device)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    batches = [(make_batch(args.batch, device, True, 2 * i), make_batch(args.batch, device, False, 2 * i + 1))
               for i in range(4)]
    spec = ModelSpec(input_shapes=SHAPES, num_classes=CLASSES, hidden=(128, 64), dropout=0.0)
    mm_hp = MixMatchHParams(noise_std=0.1)  # the spec's σ for both, so only the network differs
    mixmatch = MixMatch(spec, mm_hp).to(device)
    mmmd = MMMD(spec, MMMDHParams()).to(device)
    k = MMMDHParams().augmentations

    rows = 2 * args.batch
    t_mm = time_steps(mixmatch, batches, None, args.steps, args.warmup, device)
    t_mix = time_steps(mmmd, batches, "mix", args.steps, args.warmup, device)
    t_sup = time_steps(mmmd, [(lb, None) for lb, _ in batches], "wild", args.steps, args.warmup, device)
    t_mcb = time_mcb(mmmd.model.mcb, args.batch, k, args.steps, device)

    n_paths = len(mmmd.model.paths)
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    print(f"device {device} ({torch.get_num_threads()} threads), B = {args.batch} labeled + {args.batch} unlabeled, "
          f"{args.steps} timed steps")
    print(f"mixmatch (early-fusion MLP, {params(mixmatch):,} params): {t_mm * 1e3:8.1f} ms/step  {rows / t_mm:9.0f} samples/s")
    print(f"mmmd mixed pass ({n_paths} paths + MCB d={mmmd.hp.mcb_dim}, {params(mmmd):,} params): "
          f"{t_mix * 1e3:8.1f} ms/step  {rows / t_mix:9.0f} samples/s  ({t_mm / t_mix:.2f}x mixmatch's throughput)")
    print(f"mmmd supervised pass (labeled only):    {t_sup * 1e3:8.1f} ms/step  {args.batch / t_sup:9.0f} samples/s")
    print(f"MCB share of the mixed step: {t_mcb * 1e3:.1f} ms of {t_mix * 1e3:.1f} ms = {100 * t_mcb / t_mix:.1f} %")


if __name__ == "__main__":
    main()
