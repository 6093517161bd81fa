"""AV-SpNET pre-training and fine-tuning throughput (segments/s) with the paper-sized networks.

Pre-training: `avspnet_pretrain.train_step` (encoder + 27,648 -> 1024 shared FC + reconstruction
and proxy branches, eq. 7 with α = 0.5) + backward + Adam, batch 32 of 200 x 80 segments (paper 004).
Fine-tuning: `avspnet.train_step` (frozen encoder, 1024-512-128 head) + backward + SGD, batch 32
utterances of S segments. Both on random inputs (throughput does not depend on values), on the GPU
when present, else CPU; wall and process-CPU time (the machine is shared: CPU time swings less).
Prints the projection for paper 004's DaAi corpus (62,288 segments per pre-training epoch).

    .venv/bin/python bench/bench_avspnet.py [--steps 6] [--threads 2] [--batch 32]
"""

from __future__ import annotations

import argparse
import time

import torch

from semiemo.methods.avspnet import PRETRAIN_GROUP, SEGMENTS_GROUP, AVSpNet, AVSpNetHParams, AVSpNetPretrain, AVSpNetPretrainHParams
from semiemo.methods.base import Batch, ModelSpec, StepInfo

DAAI_SEGMENTS = 62_288  # paper 004 Table 1


def _time(step, steps: int, device: torch.device) -> tuple[float, float]:
    step()  # warm-up (allocations, kernels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--segments-per-utterance", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {args.threads} torch threads"
    info = StepInfo(epoch=0, step=0, total_steps=1, num_epochs=1)
    b = args.batch

    pre = AVSpNetPretrain(ModelSpec({PRETRAIN_GROUP: (200, 80)}, 2), AVSpNetPretrainHParams()).to(device)
    opt = torch.optim.Adam(pre.parameters_for_optimizer(), lr=1e-3)
    x = torch.randn(b, 200, 80, device=device)
    y = torch.nn.functional.one_hot(torch.randint(0, 2, (b,), device=device), 2).float()
    batch = Batch({PRETRAIN_GROUP: x}, torch.arange(b, device=device), y)

    def pre_step() -> None:
        loss = pre.train_step(batch, None, info)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    wall, cpu = _time(pre_step, args.steps, device)
    n_params = sum(p.numel() for p in pre.parameters())
    pre_rate = args.steps * b / wall
    print(f"device: {name}")
    print(f"pre-training  ({n_params / 1e6:.1f} M params, batch {b}): {pre_rate:8.1f} segments/s wall, "
          f"{args.steps * b / cpu:8.1f} segments/CPU-s; {1000 * wall / args.steps:.0f} ms/step")
    print(f"  -> one DaAi epoch ({DAAI_SEGMENTS} segments): {DAAI_SEGMENTS / pre_rate / 60:.1f} min")

    s = args.segments_per_utterance
    ft = AVSpNet(ModelSpec({SEGMENTS_GROUP: (s, 200, 80)}, 4), AVSpNetHParams(frontend="key-not-used-here")).to(device)
    opt2 = torch.optim.SGD(ft.parameters_for_optimizer(), lr=1e-5, momentum=0.0)
    xs = torch.randn(b, s, 200, 80, device=device)
    ys = torch.nn.functional.one_hot(torch.randint(0, 4, (b,), device=device), 4).float()
    fbatch = Batch({SEGMENTS_GROUP: xs}, torch.arange(b, device=device), ys,
                   lengths={SEGMENTS_GROUP: torch.full((b,), s, device=device)})
    ft.train()

    def ft_step() -> None:
        loss = ft.train_step(fbatch, None, info)["loss"]
        opt2.zero_grad(set_to_none=True)
        loss.backward()
        opt2.step()

    wall, cpu = _time(ft_step, args.steps, device)
    print(f"fine-tuning   (frozen encoder, batch {b} utterances x {s} segments): "
          f"{args.steps * b * s / wall:8.1f} segments/s wall, {args.steps * b * s / cpu:8.1f} segments/CPU-s")


if __name__ == "__main__":
    main()
