"""SSGAN training-step time and its D / G shares (paper 002's DCGAN on 128-frame crops).

One `train_step` = the D step (G(z) under no_grad, one D forward over [x_l, x_u, x_u, G(z)], backward,
Adam) + the G step (G forward, D forward on fakes and on x_u, backward through the frozen D, Adam).
The split is taken where the method calls `step_optimizer`, with CUDA synchronised on a GPU. Rows are
synthetic [B, 300, F] sequences (only shapes matter for speed).

    .venv/bin/python bench/bench_ssgan.py [--device cpu|cuda] [--width-scale 1] [--crop 128]
        [--features 128] [--batch 64] [--steps 5] [--warmup 1] [--multimodal] [--amp]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semiemo.methods.base import Batch, ModelSpec, StepInfo, hparams_from_dict
from semiemo.methods.registry import get_method
from semiemo.train.config import TrainConfig


def _batch(groups: dict[str, int], n: int, device: torch.device, labeled: bool) -> Batch:
    inputs = {g: torch.randn(n, 300, f, device=device) for g, f in groups.items()}
    lengths = {g: torch.full((n,), 300, device=device) for g in groups}
    y = torch.randint(0, 3, (n,), device=device)
    return Batch(inputs, torch.arange(n, device=device), torch.eye(3, device=device)[y] if labeled else None,
                 y if labeled else None, lengths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--width-scale", type=float, default=1.0)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--features", type=int, default=128, help="F: 128 (Fbank/FFT) or 342 (Dface)")
    ap.add_argument("--batch", type=int, default=64, help="labeled = unlabeled = noise batch")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--multimodal", action="store_true", help="mssgan on F and 342 (Dface)")
    ap.add_argument("--amp", action="store_true", help="autocast (CUDA) as the trainer does")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    groups = {"fbank": a.features, "face": 342} if a.multimodal else {"fbank": a.features}
    name = "mssgan" if a.multimodal else "ssgan"
    cls = get_method(name)
    spec = ModelSpec({g: (300, f) for g, f in groups.items()}, num_classes=3)
    method = cls(spec, hparams_from_dict(cls.HParams, {"crop_frames": a.crop, "width_scale": a.width_scale}), 0).to(device)
    scalers = {n: torch.amp.GradScaler("cuda") for n in ("discriminator", "generator")} if a.amp else {}
    method.attach_optimizers(method.configure_optimizers(TrainConfig(lr=2e-4)), scalers)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    marks: list[float] = []
    inner = method.step_optimizer

    def timed(opt_name: str, loss: torch.Tensor) -> None:
        inner(opt_name, loss)
        sync()
        marks.append(time.perf_counter())

    method.step_optimizer = timed  # type: ignore[method-assign]
    labeled, unlabeled = _batch(groups, a.batch, device, True), _batch(groups, a.batch, device, False)
    d_times, g_times = [], []
    for i in range(a.warmup + a.steps):
        marks.clear()
        sync()
        t0 = time.perf_counter()
        with torch.autocast(device.type) if a.amp else torch.autocast(device.type, enabled=False):
            method.train_step(labeled, unlabeled, StepInfo(0, i, 1, 1))
        if i >= a.warmup:
            d_times.append(marks[0] - t0)
            g_times.append(marks[1] - marks[0])
    d, g = statistics.median(d_times), statistics.median(g_times)
    params = {n: sum(p.numel() for p in getattr(method, n).parameters()) for n in ("D", "G")}
    print(f"{name} on {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} threads'}), "
          f"F={list(groups.values())}, crop {a.crop}, width_scale {a.width_scale}, batch {a.batch}+{a.batch}+{a.batch}, "
          f"amp={a.amp}, params D {params['D']:,} G {params['G']:,}")
    print(f"step {d + g:.4f} s (median of {a.steps}) = D step {d:.4f} s ({d / (d + g):.0%}) + G step {g:.4f} s ({g / (d + g):.0%}); "
          f"{3 * a.batch / (d + g):.1f} rows/s")


if __name__ == "__main__":
    main()
