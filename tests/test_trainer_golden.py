"""The trainer reproduces its recorded runs bit for bit (issue 24: refactors must not change behaviour).

Every method's per-step losses, per-epoch history, best epoch and test metrics on a fixed seed and
fold, single worker; a resume from a mid-run checkpoint; 2-worker DDP. The numbers live in
tests/data/trainer_goldens.json (see tests/trainer_golden_cases.py for how to regenerate them, and
regenerate only for a behaviour change that is meant to happen).
"""

from __future__ import annotations

import json

import pytest

import trainer_golden_cases as golden

EXPECTED = json.loads(golden.GOLDEN_FILE.read_text())


@pytest.fixture(scope="module")
def runs():
    return golden.jsonable(golden.run_all())


def test_goldens_cover_every_gradient_trained_method():
    from semiemo.methods.base import Method
    from semiemo.methods.registry import available_methods, get_method

    trained = {n for n in available_methods() if not n.startswith("_") and isinstance(get_method(n), type) and issubclass(get_method(n), Method)}
    assert trained == {golden.CASES[c][1] for c in EXPECTED["single"]}


@pytest.mark.parametrize("case", sorted(EXPECTED["single"]))
def test_single_worker_run_is_bit_identical_to_its_golden(runs, case):
    assert golden.differences(EXPECTED["single"][case], runs["single"][case]) == []


@pytest.mark.parametrize("case", sorted(EXPECTED["resume"]))
def test_resumed_run_is_bit_identical_to_its_golden_and_to_the_uninterrupted_run(runs, case):
    got = runs["resume"][case]
    assert golden.differences(EXPECTED["resume"][case], got) == []
    tail = got["full"]["steps"][-len(got["resumed"]["steps"]):]
    assert golden.differences(tail, got["resumed"]["steps"]) == []
    assert golden.differences(got["full"]["history"], got["resumed"]["history"]) == []


@pytest.mark.parametrize("case", sorted(EXPECTED["ddp"]))
def test_two_worker_ddp_run_is_bit_identical_to_its_golden(runs, case):
    got = runs["ddp"][case]
    assert golden.differences(EXPECTED["ddp"][case], got) == []
    assert got["rank0"]["steps"] != got["rank1"]["steps"]          # each rank trained on its own shard
