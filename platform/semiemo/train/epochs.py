"""A method's epoch definition (`methods.plan`) turned into the streams that yield each epoch's steps.

One function per kind of definition (singledispatch), so the loop asks for streams without asking what
kind of epoch the method declared. Every streams object yields `(phase, labeled, unlabeled)` from
`steps()` and has `steps_per_epoch`, `state_dict()`, `load_state_dict()`, `unlabeled_visits()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch
from typing import Any

import numpy as np

from semiemo.methods.plan import LabeledPass, PhasePlan, UnlabeledPass
from semiemo.train.budget import apply_default_budget
from semiemo.train.config import TrainConfig
from semiemo.train.phases import PhasedStreams
from semiemo.train.streams import TensorPool, TwoStreams


@singledispatch
def make_streams(epoch: Any, labeled: TensorPool, columns: Mapping[str, np.ndarray], unlabeled: Any,
                 train: TrainConfig, seed: int, rank: int, world_size: int) -> TwoStreams | PhasedStreams:
    raise TypeError(f"unknown epoch definition {epoch!r}; see semiemo.methods.plan")


@make_streams.register
def _(epoch: LabeledPass, labeled, columns, unlabeled, train, seed, rank, world_size):  # type: ignore[no-untyped-def]
    streams = TwoStreams(labeled, unlabeled, train.batch_size, train.mu, seed, rank, world_size, train.steps_per_epoch)
    return apply_default_budget(streams, unlabeled is not None, train.steps_per_epoch)  # train.budget's rule


@make_streams.register
def _(epoch: UnlabeledPass, labeled, columns, unlabeled, train, seed, rank, world_size):  # type: ignore[no-untyped-def]
    streams = TwoStreams(labeled, unlabeled, train.batch_size, train.mu, seed, rank, world_size, train.steps_per_epoch)
    if unlabeled is not None and not train.steps_per_epoch:
        streams.set_steps_per_epoch(streams.unlabeled_pass_steps())
    return streams


@make_streams.register
def _(epoch: PhasePlan, labeled, columns, unlabeled, train, seed, rank, world_size):  # type: ignore[no-untyped-def]
    return PhasedStreams(epoch, labeled, columns, unlabeled, train.batch_size, train.mu, seed, rank, world_size)
