"""The step budget: how many optimizer steps an epoch has, and when checkpoint selection may begin.

Rule (issue 23): without an explicit `train.steps_per_epoch`, an epoch of a method that trains on an
unlabeled pool is `max(one labeled pass, one unlabeled pass at μ·B rows a step)` steps, i.e.
`max(ceil(L/B), ceil(U/(μ·B)))`. Semi-supervised learning learns from the pool, so the pool sets the
length: 30 labels and 3,000 pool rows at B = 64 give 47 steps an epoch (1,410 in 30 epochs), where the
labeled pass alone gave 1 (30 in all) and starved every method. With an external pool, or whenever the
pool pass is the longer one (any label share below 1/(1+μ) when the unlabeled rows are the rest of the
corpus), the budget no longer depends on how many rows are labeled; methods without a pool keep one
labeled pass. Label-fraction analyses fix `steps_per_epoch` outright (search_spaces/label_fraction.yaml),
so every point of their curve gets the same number of steps. Ramp-ups are shares of the total budget
(`rampup_fraction` of every method), warm-ups are whole epochs of it.

Selection never chooses a checkpoint from before a method's warm-up or ramp-up has ended:
`selection_start` is the later of the plan's `selection_start_epoch` and the first epoch after
`rampup_share` of the budget (at the latest the last epoch).
"""

from __future__ import annotations

import math

from semiemo.methods.plan import TrainingPlan
from semiemo.train.streams import TwoStreams


def apply_default_budget(streams: TwoStreams, has_pool: bool, steps_per_epoch: int | None) -> TwoStreams:
    """Set the epoch length of the rule above on `streams` (unchanged with an explicit `steps_per_epoch`)."""
    if has_pool and not steps_per_epoch and streams.unlabeled_pass_steps() > streams.labeled_rows.batches_per_pass:
        streams.set_steps_per_epoch(streams.unlabeled_pass_steps())  # else the labeled pass is the longer: as it was
    return streams


def selection_start(plan: TrainingPlan, epochs: int) -> int:
    """Epochs (0-based count) before checkpoint selection and patience start counting. A ramp-up longer
    than the run still leaves its last epoch to select (a warm-up that long is an error, `fit_fold`)."""
    rampup_epochs = min(math.ceil(plan.rampup_share * epochs - 1e-9), epochs - 1)
    return max(int(plan.selection_start_epoch), rampup_epochs)
