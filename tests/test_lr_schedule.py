"""Paper 003's recipe as a trainer option: Adamax, warm-up 0.0025 -> 0.01 over 4 epochs, ÷1.17 every 4
epochs up to 50, gradient 2-norm clipped at 1.0; the default (constant lr, no clipping) is unchanged."""

from __future__ import annotations

import pytest
import torch

from semiemo.train.config import TrainConfig
from semiemo.train.loop import fit_fold
from semiemo.train.schedules import WarmupStepDecay, make_optimizer, make_scheduler, paper_003_recipe
from test_trainer_loop import _fold_data


def _epoch_lrs(cfg: TrainConfig, epochs: int) -> list[float]:
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    sched = make_scheduler(opt, cfg)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_warmup_hits_the_papers_four_rates_then_divides_by_1_17_every_four_epochs():
    cfg = TrainConfig(**{k: v for k, v in paper_003_recipe().items()})
    lrs = _epoch_lrs(cfg, 60)
    assert lrs[:4] == pytest.approx([0.0025, 0.005, 0.0075, 0.01])
    for e in range(4, 50):
        assert lrs[e] == pytest.approx(0.01 * 1.17 ** -((e - 4) // 4)), e
    assert lrs[49] == pytest.approx(0.01 * 1.17 ** -11)       # ≈ 0.00178, spec 003 §2
    assert lrs[55] == pytest.approx(lrs[49])                  # constant after epoch 50
    assert isinstance(make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg), torch.optim.Adamax)


def test_rule_is_a_plain_function_of_the_epoch():
    rule = WarmupStepDecay(peak_lr=0.01, start_lr=0.0025, warmup_epochs=4, decay_factor=1.17, decay_every=4,
                           decay_until_epoch=50)
    assert [round(rule.lr(e), 6) for e in (3, 7, 8, 11, 12)] == [0.01, 0.01, round(0.01 / 1.17, 6),
                                                                  round(0.01 / 1.17, 6), round(0.01 / 1.17 ** 2, 6)]


def test_trainer_logs_the_rate_each_epoch_used_and_the_clipped_gradient_norm():
    cfg = TrainConfig(num_threads=1, epochs=6, batch_size=16, optimizer="adamax", lr=0.01,
                      lr_schedule="warmup_step_decay", grad_clip_norm=1.0, lr_decay_every=1)
    result = fit_fold(_fold_data(), "supervised", {}, cfg, seed=0)
    lrs = [h["train/lr"] for h in result.history]
    assert lrs == pytest.approx([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01 / 1.17])
    assert all("train/grad_norm" in h for h in result.history)


def test_default_config_has_no_schedule_and_no_clipping():
    cfg = TrainConfig()
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    assert make_scheduler(opt, cfg) is None and cfg.grad_clip_norm is None and isinstance(opt, torch.optim.Adam)
    result = fit_fold(_fold_data(), "supervised", {}, TrainConfig(num_threads=1, epochs=1, batch_size=16), seed=0)
    assert "train/lr" not in result.history[0] and "train/grad_norm" not in result.history[0]
