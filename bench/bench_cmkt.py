"""Paper 003's transformer M_θ under cmkt: time per training step and samples/s (CPU here, GPU when lent).

One cmkt step = labeled strong view forward + unlabeled weak forward (no grad) + unlabeled strong
forward + backward + Adamax step with clipping at 1.0 — what the trainer runs per step, called
directly on random inputs of the paper's shape (t frames x d = 512 features, FER frames 18 x 7), so
the number is the model's cost, not the data pipeline's. Sizes: `paper` = 8 blocks, 8 heads, d 512,
t 555 (STFT, Chinese); `small` = the quick analyses' 1 block, d 32 over t 500 eGeMAPS LLD frames
averaged 10 at a time (frame_stride 10).
Process CPU time and wall time are both printed (on a shared machine wall time swings with load).

    .venv/bin/python bench/bench_cmkt.py [--size paper|small|both] [--batch 32] [--steps 3] [--device cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from semiemo.methods.base import Batch, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.cmkt import CMKT, CMKTHParams
from semiemo.train.config import TrainConfig
from semiemo.train.schedules import make_optimizer, paper_003_recipe

SIZES = {
    "paper": {"frames": 555, "dim": 512, "options": {}},
    "small": {"frames": 500, "dim": 25, "options": {"layers": 1, "heads": 2, "d_model": 32, "ffn": 64, "head_hidden": 32,
                                                      "frame_stride": 10}},
}


def batch(n: int, frames: int, dim: int, device: torch.device, labeled: bool) -> Batch:
    lengths = torch.randint(frames // 3, frames + 1, (n,), device=device)
    fer = torch.rand(n, 18, 7, device=device)
    targets = torch.nn.functional.one_hot(torch.randint(0, 3, (n,), device=device), 3).float() if labeled else None
    return Batch({"audio": torch.randn(n, frames, dim, device=device), "fer": fer / fer.sum(-1, keepdim=True)},
                 torch.arange(n, device=device), targets, None if targets is None else targets.argmax(1),
                 {"audio": lengths, "fer": torch.full((n,), 18, device=device)})


def run(size: str, batch_size: int, steps: int, device: torch.device) -> None:
    cfg = SIZES[size]
    spec = ModelSpec({"audio": (cfg["frames"], cfg["dim"]), "fer": (18, 7)}, 3, backbone="transformer",
                     backbone_options=cfg["options"], pad_sides={"audio": "start"},
                     class_names=("negative", "neutral", "positive"))
    method = CMKT(spec, hparams_from_dict(CMKTHParams, {"fusion": "ff1"})).to(device)
    train = TrainConfig(**paper_003_recipe())
    opt = make_optimizer(method.parameters_for_optimizer(), train)
    params = sum(p.numel() for p in method.parameters())
    lab, unl = batch(batch_size, cfg["frames"], cfg["dim"], device, True), batch(batch_size, cfg["frames"], cfg["dim"], device, False)
    info = StepInfo(0, 0, steps, 1)

    def step() -> None:
        losses = method.train_step(lab, unl, info)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(method.parameters_for_optimizer(), train.grad_clip_norm)
        opt.step()

    step()  # warm-up (allocations, kernels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    walls, cpus = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    wall, cpu = float(np.median(walls)), float(np.median(cpus))
    rows = 2 * batch_size  # labeled + unlabeled rows per step (μ = 1)
    print(f"{size:5s} device={device.type} threads={torch.get_num_threads()} params={params / 1e6:.2f}M "
          f"t={cfg['frames']} d_in={cfg['dim']} B={batch_size}+{batch_size}: step wall {wall:.3f} s "
          f"({rows / wall:.3g} samples/s), step CPU {cpu:.3f} s ({rows / cpu:.3g} samples per CPU-second), median of {steps}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=["paper", "small", "both"], default="both")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (on a shared CPU more threads mostly spin)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for size in (["small", "paper"] if args.size == "both" else [args.size]):
        run(size, args.batch, args.steps, torch.device(args.device))


if __name__ == "__main__":
    main()
