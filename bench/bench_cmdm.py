"""CMDM (paper 001) step time: per modality DAE, the MMD terms, and a whole `train_step` + backward.

One optimizer step of CMDM at the paper's sizes: a labeled batch of B rows and an unlabeled batch of
B rows (batch 128 each), IS10 1582-d, faces 18x342, words 32x384 (MiniLM, this platform's default
`text_tokens`) or 22x1024 (BERT, the paper's; `--bert`). Per modality: forward + reconstruction
loss + backward of that DAE alone on the 2B rows. MMD: the paired + unpaired group-wise terms (a-v,
a-l) on the labeled and the unlabeled latents, forward + backward, on detached leaf latents. The full
step is `CMDM.train_step` + backward + Adam; MMD's share = MMD time / full-step time. Medians of
wall-clock times over repeats after one warm-up (on a shared machine: compare within one run).

    python bench/bench_cmdm.py [--batch 128] [--repeats 5] [--ffn 2048] [--blocks 2] [--threads 1] [--bert] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from semiemo.methods.base import Batch, ModelSpec, StepInfo
from semiemo.methods.mmd import paired_unpaired_mmd
from semiemo.models.autoencoders import build_dae, reconstruction_target
from semiemo.train.loop import build_method


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ffn", type=int, default=2048)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bert", action="store_true", help="22x1024 words (paper 001) instead of 32x384 (MiniLM)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    shapes = {"is10": (1582,), "face": (18, 342), "text_tokens": (22, 1024) if args.bert else (32, 384)}
    kinds = {"is10": "acoustic", "face": "visual", "text_tokens": "lexical"}
    b2 = 2 * args.batch
    x = {g: torch.randn(b2, *s, device=device) for g, s in shapes.items()}
    print(f"device {device}, threads {args.threads}, labeled {args.batch} + unlabeled {args.batch} rows, "
          f"transformer ffn {args.ffn} x {args.blocks} blocks, shapes {shapes}")

    per_modality = {}
    for g, s in shapes.items():
        dae = build_dae(s, kinds[g], **({"ffn": args.ffn, "blocks": args.blocks} if len(s) == 2 else {})).to(device)

        def step(dae=dae, g=g) -> None:
            z, rec = dae(x[g])
            F.mse_loss(rec, reconstruction_target(dae, x[g])).backward()
        per_modality[g] = timed(step, args.repeats, device)
        n_params = sum(p.numel() for p in dae.parameters())
        print(f"  DAE {g:<12} {str(s):<12} {n_params / 1e6:6.2f} M params  fwd+bwd {per_modality[g] * 1e3:9.1f} ms")

    latents = {m: torch.randn(b2, 128, device=device, requires_grad=True) for m in "avl"}

    def mmd_step() -> None:
        total = 0.0
        for part in (slice(0, args.batch), slice(args.batch, b2)):
            for m in "vl":
                p, u = paired_unpaired_mmd(latents["a"][part], latents[m][part])
                total = total + p + u
        total.backward()
    mmd_t = timed(mmd_step, args.repeats, device)

    spec = ModelSpec({g: s for g, s in shapes.items()}, num_classes=4)
    method = build_method("cmdm", {"transformer_ffn": args.ffn, "transformer_blocks": args.blocks}, spec, b2).to(device)
    opt = torch.optim.Adam(method.parameters_for_optimizer(), lr=1e-3)
    targets = torch.eye(4, device=device)[torch.randint(0, 4, (args.batch,), device=device)]
    lab = Batch({g: v[: args.batch] for g, v in x.items()}, torch.arange(args.batch, device=device), targets, targets.argmax(1))
    unl = Batch({g: v[args.batch:] for g, v in x.items()}, torch.arange(args.batch, device=device))

    def full_step() -> None:
        losses = method.train_step(lab, unl, StepInfo(0, 0, 100, 1))
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
    full_t = timed(full_step, args.repeats, device)
    print(f"  MMD (pair+unpaired, a-v and a-l, labeled+unlabeled) fwd+bwd {mmd_t * 1e3:9.1f} ms")
    print(f"  full CMDM step (train_step + backward + Adam)      {full_t * 1e3:9.1f} ms")
    print(f"  shares of the full step: " + ", ".join(f"DAE {g} {t / full_t:.1%}" for g, t in per_modality.items())
          + f", MMD {mmd_t / full_t:.2%}")
    print(f"  rows/s (labeled+unlabeled): {b2 / full_t:.0f}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
