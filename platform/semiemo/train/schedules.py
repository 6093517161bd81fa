"""Learning-rate schedules and optimizers the trainer offers every method.

`warmup_step_decay` is paper 003's recipe (§4.2): "the learning rate is gradually increased from
0.0025 to 0.01 in the first four epochs, and then decayed by 1/1.17 for every 4 epochs up to 50
epochs", with Adamax and the gradient 2-norm clipped at 1.0. Spec 003 §2 reads it per epoch e
(0-based): lr = start + (peak - start)·e/(W-1) for e < W (0.0025, 0.005, 0.0075, 0.01), then
lr = peak · 1.17^-⌊(e-W)/4⌋ until epoch 50, constant after. It is a `LambdaLR` stepped once per epoch,
so its state checkpoints and resumes like the optimizer's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from semiemo.train.config import TrainConfig


@dataclass(frozen=True)
class WarmupStepDecay:
    """lr(e) / peak for the epoch e (0-based); picklable, so the scheduler's state_dict holds it."""

    peak_lr: float
    start_lr: float
    warmup_epochs: int
    decay_factor: float
    decay_every: int
    decay_until_epoch: int

    def lr(self, epoch: int) -> float:
        if epoch < self.warmup_epochs:
            if self.warmup_epochs == 1:
                return self.peak_lr
            return self.start_lr + (self.peak_lr - self.start_lr) * epoch / (self.warmup_epochs - 1)
        last = min(epoch, self.decay_until_epoch - 1)
        k = max(0, (last - self.warmup_epochs) // self.decay_every)
        return self.peak_lr * self.decay_factor ** (-k)

    def __call__(self, epoch: int) -> float:
        return self.lr(epoch) / self.peak_lr


def make_optimizer(params: list[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamax":  # paper 003 §4.2 (betas/eps not given: PyTorch defaults)
        return torch.optim.Adamax(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler | None:
    """None for a constant learning rate (the default: no scheduler, existing runs unchanged)."""
    if cfg.lr_schedule == "constant":
        return None
    if cfg.lr_schedule == "warmup_step_decay":
        rule = WarmupStepDecay(cfg.lr, cfg.warmup_start_lr, cfg.warmup_epochs, cfg.lr_decay_factor,
                               cfg.lr_decay_every, cfg.lr_decay_until_epoch)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, rule)
    raise ValueError(f"unknown lr_schedule {cfg.lr_schedule!r}; allowed: 'constant', 'warmup_step_decay'")


def paper_003_recipe() -> dict:
    """TrainConfig fields of paper 003 §4.2 (Adamax, warm-up + step decay, clip 1.0, 50 epochs, B = 32, μ = 1)."""
    return {"optimizer": "adamax", "lr": 0.01, "lr_schedule": "warmup_step_decay", "warmup_start_lr": 0.0025,
            "warmup_epochs": 4, "lr_decay_factor": 1.17, "lr_decay_every": 4, "lr_decay_until_epoch": 50,
            "grad_clip_norm": 1.0, "epochs": 50, "batch_size": 32, "mu": 1}
