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
# bit for bit on the machine that recorded them; elsewhere within the last bits another CPU's kernels give
SAME_MACHINE = EXPECTED.get("machine") == golden.machine_signature()
TOL = {} if SAME_MACHINE else {"rtol": golden.FOREIGN_RTOL, "atol": golden.FOREIGN_ATOL}


def differences(expected, got):
    return golden.differences(expected, got, **TOL)


@pytest.fixture(scope="module")
def runs():
    return golden.jsonable(golden.run_all())


def test_goldens_cover_every_gradient_trained_method():
    from semiemo.methods.base import Method
    from semiemo.methods.registry import available_methods, get_method

    trained = {n for n in available_methods() if not n.startswith("_") and isinstance(get_method(n), type) and issubclass(get_method(n), Method)}
    assert trained == {golden.CASES[c][1] for c in EXPECTED["single"]}


def test_floats_compare_exactly_unless_a_tolerance_is_given_and_integers_always_exactly():
    a, b = {"loss": [1.1538554430], "epoch": 3}, {"loss": [1.1538555622], "epoch": 3}
    assert golden.differences(a, b) == ["/loss[0]: 1.153855443 != 1.1538555622"]
    assert golden.differences(a, b, rtol=1e-4) == []
    assert golden.differences(a, {**b, "epoch": 4}, rtol=1e-4) == ["/epoch: 3 != 4"]
    assert golden.differences({"x": 1.0}, {"x": 1.01}, rtol=1e-4) != []


@pytest.mark.parametrize("case", sorted(EXPECTED["single"]))
def test_single_worker_run_is_bit_identical_to_its_golden(runs, case):
    assert differences(EXPECTED["single"][case], runs["single"][case]) == []


@pytest.mark.parametrize("case", sorted(EXPECTED["resume"]))
def test_resumed_run_is_bit_identical_to_its_golden_and_to_the_uninterrupted_run(runs, case):
    got = runs["resume"][case]
    assert differences(EXPECTED["resume"][case], got) == []
    tail = got["full"]["steps"][-len(got["resumed"]["steps"]):]
    assert golden.differences(tail, got["resumed"]["steps"]) == []                     # same machine: exact
    assert golden.differences(got["full"]["history"], got["resumed"]["history"]) == []


@pytest.mark.parametrize("case", sorted(EXPECTED["ddp"]))
def test_two_worker_ddp_run_is_bit_identical_to_its_golden(runs, case):
    got = runs["ddp"][case]
    assert differences(EXPECTED["ddp"][case], got) == []
    assert got["rank0"]["steps"] != got["rank1"]["steps"]          # each rank trained on its own shard
