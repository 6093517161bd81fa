"""MixMatch's unlabeled term L_U acts at the method's defaults (issue 23: at λ_U = 0.01 it was inert).

MixMatch scales L_U by 1/L (mean over classes and rows), so its default λ_U is MixMatch's 100
(Berthelot et al. 2019 §4), not paper 000's MMMD optimum 0.01. These tests fail if the default goes
back to a weight that leaves L_U without effect on the gradient or on what the model learns.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from gaussian_featureset import gaussian_fold_data
from semiemo.methods.base import Batch, ModelSpec, StepInfo
from semiemo.methods.registry import get_method
from semiemo.train.config import TrainConfig
from semiemo.train.loop import fit_fold, model_spec

C, D = 4, 16
SPEC = ModelSpec(input_shapes={"egemaps": (D,)}, num_classes=C, hidden=(32,), dropout=0.0)
PAST_RAMPUP = StepInfo(epoch=5, step=900, total_steps=1000, num_epochs=6)


def _batch(n: int, seed: int, labeled: bool) -> Batch:
    g = torch.Generator().manual_seed(seed)
    targets = torch.eye(C)[torch.randint(0, C, (n,), generator=g)] if labeled else None
    return Batch(inputs={"egemaps": torch.randn(n, D, generator=g)}, index=torch.arange(n), targets=targets)


def _gradient(method, labeled: Batch, unlabeled: Batch) -> torch.Tensor:
    torch.manual_seed(7)  # the same noise, guesses, shuffle and λ for both weights
    method.model.zero_grad()
    method.train_step(labeled, unlabeled, PAST_RAMPUP)["loss"].backward()
    return torch.cat([p.grad.reshape(-1) for p in method.model.parameters()])


def test_default_unlabeled_term_moves_the_gradient_as_much_as_a_tenth_of_the_supervised_term():
    cls = get_method("mixmatch")
    torch.manual_seed(0)
    method = cls(SPEC, cls.HParams(), num_unlabeled=64)
    labeled, unlabeled = _batch(16, 1, True), _batch(32, 2, False)
    with_term = _gradient(method, labeled, unlabeled)
    method.hp = dataclasses.replace(method.hp, unsup_weight=0.0)
    supervised_only = _gradient(method, labeled, unlabeled)
    unlabeled_part = with_term - supervised_only
    assert unlabeled_part.norm() >= 0.1 * supervised_only.norm(), (
        f"λ_U·∇L_U has norm {float(unlabeled_part.norm()):.3g} against ∇L_X {float(supervised_only.norm()):.3g}")


def _test_predictions(unsup_weight: float | None) -> np.ndarray:
    data = gaussian_fold_data(separation=1.0, unlabeled=300, seed=0)
    params = {} if unsup_weight is None else {"unsup_weight": unsup_weight}
    result = fit_fold(data, "mixmatch", params, TrainConfig(num_threads=1, epochs=4, batch_size=16, steps_per_epoch=20),
                      model_spec(data, hidden=(32,), dropout=0.0), seed=0, return_method=True)
    assert result.steps_run == 80
    with torch.no_grad():
        return result.method.predict({k: torch.as_tensor(v) for k, v in data.test.inputs.items()}).argmax(-1).numpy()


def test_training_at_the_default_weight_learns_something_else_than_without_the_unlabeled_term():
    default, without = _test_predictions(None), _test_predictions(0.0)
    changed = float((default != without).mean())
    assert changed >= 0.05, f"only {changed:.1%} of test predictions differ between λ_U = 100 and λ_U = 0"
