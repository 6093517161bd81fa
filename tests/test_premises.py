"""Premises and ties: every verdict a real test (issue 23). Small hand-made result tables, no training.

A failed premise makes the outcome *not tested* with the premise and its measured value; an exact tie or
points within seed noise make it *undetermined*; a premise whose columns are absent is *not measured*.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from semiemo.analysis import premises as pm
from semiemo.analysis.reproduce import best_points, judged, shape_verdict
from semiemo.tune.space import Premise, ShapeClaim


def curve(means, xs=None, series="all"):
    xs = xs or list(range(len(means)))
    return pd.DataFrame({"series": series, "x": xs, "mean": means, "ci95": 0.01, "n": 3})


def table(means_by_x: dict, seeds=(0, 1, 2), noise=0.01, method="fixmatch", x="method_params.unsup_weight", **cols):
    """One row per (x, seed): the metric is the point mean ± noise·(seed − 1); extra columns per row."""
    rows = []
    for xv, mean in means_by_x.items():
        for s in seeds:
            rows.append({x: xv, "seed": s, "fold": "f0", "method": method, "status": "TERMINATED",
                         "test_ua": mean + noise * (s - 1), "test_confusion": json.dumps(np.eye(3).tolist()),
                         **{k: (v(xv, s) if callable(v) else v) for k, v in cols.items()}})
    return pd.DataFrame(rows)


# --- ties ----------------------------------------------------------------------------------------------------
def test_best_points_keeps_every_exact_tie_instead_of_the_first():
    assert best_points(np.array([0.3655, 0.3655, 0.3655])) == [0, 1, 2]
    assert best_points(np.array([0.1, np.nan, 0.2])) == [2]


def test_best_at_with_the_paper_point_tied_for_best_is_undetermined_not_failed():
    v = shape_verdict(curve([0.3655, 0.3655, 0.3655], [0, 0.1, 1]), ShapeClaim(kind="best_at", value=0.1))
    assert v.outcome == "undetermined" and v.reproduced is None and "tie" in v.line


def test_best_at_with_the_paper_point_below_a_tie_is_still_not_reproduced():
    v = shape_verdict(curve([0.5, 0.4, 0.5], [0, 0.1, 1]), ShapeClaim(kind="best_at", value=0.1))
    assert v.outcome == "not"


def test_peak_interior_tied_between_an_end_and_the_inside_is_undetermined():
    v = shape_verdict(curve([0.6, 0.6, 0.5], [0, 0.01, 1]), ShapeClaim(kind="peak_interior"))
    assert v.outcome == "undetermined"


def test_a_flat_curve_has_no_trend_to_test():
    v = shape_verdict(curve([0.4, 0.4, 0.4]), ShapeClaim(kind="increasing"))
    assert v.outcome == "undetermined"


# --- unlabeled term active -----------------------------------------------------------------------------------
def test_unlabeled_term_inert_makes_the_verdict_not_tested_with_its_measured_value():
    t = table({0.1: 0.40, 1.0: 0.50, 3.0: 0.45}, unlabeled_loss_active_share=0.0, mask_rate_mean=0.0)
    res = pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
    active = next(r for r in res if r.kind == "unlabeled_active")
    assert active.holds is False and active.value == 0.0 and "0 of 3 points active" in active.measured
    v = judged(shape_verdict(curve([0.40, 0.50, 0.45], [0.1, 1.0, 3.0]), ShapeClaim(kind="best_at", value=0.1)), res)
    assert v.outcome == "not tested" and "unlabeled loss is non-zero" in v.line and "0 of 3" in v.line


def test_unlabeled_term_active_holds_and_leaves_the_verdict_alone():
    t = table({0.1: 0.40, 1.0: 0.50, 3.0: 0.45}, unlabeled_loss_active_share=0.9, mask_rate_mean=0.4)
    res = pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
    assert next(r for r in res if r.kind == "unlabeled_active").holds is True
    v = judged(shape_verdict(curve([0.40, 0.50, 0.45], [0.1, 1.0, 3.0]), ShapeClaim(kind="best_at", value=0.1)), res)
    assert v.outcome == "not"


def test_a_zero_weight_point_is_supervised_by_construction_and_not_asked_to_be_active():
    t = table({0: 0.40, 1.0: 0.50}, unlabeled_loss_active_share=lambda x, s: 0.0 if x == 0 else 0.8)
    res = pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
    assert next(r for r in res if r.kind == "unlabeled_active").holds is True


def test_a_non_zero_but_negligible_weighted_term_is_inert():
    """MixMatch's L_U at λ_U = 0.01 is non-zero in every epoch and ~1e-4 of the loss: it changed nothing."""
    t = table({0.01: 0.40, 1.0: 0.50, 100.0: 0.45}, x="method_params.threshold", unlabeled_loss_active_share=1.0,
              unlabeled_term_share_mean=lambda x, s: 2e-4 if x == 0.01 else 0.3)
    res = pm.evaluate([], t, metric="test_ua", keys=["method_params.threshold"])
    active = next(r for r in res if r.kind == "unlabeled_active")
    assert active.holds is False and "2 of 3 points active" in active.measured and "inert at" in active.measured
    assert "median term share of the loss 30.00%" in active.measured
    strong = table({0.01: 0.40, 1.0: 0.50}, unlabeled_loss_active_share=1.0, unlabeled_term_share_mean=0.02)
    assert next(r for r in pm.evaluate([], strong, metric="test_ua", keys=["method_params.unsup_weight"])
                if r.kind == "unlabeled_active").holds is True


def test_a_sweep_over_the_weight_names_its_too_small_weights_but_is_tested_if_one_weight_acts():
    share = lambda x, s: 2e-4 if x < 0.1 else 0.3  # noqa: E731
    t = table({0.01: 0.40, 1.0: 0.50, 100.0: 0.45}, unlabeled_loss_active_share=1.0, unlabeled_term_share_mean=share)
    active = next(r for r in pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
                  if r.kind == "unlabeled_active")
    assert active.holds is True and "at 2 of 3 weights" in active.measured and "barely acts" in active.measured
    # the same rows judged as a sweep over something else: the 0.01 point's runs did not learn from the pool
    other = t.rename(columns={"method_params.unsup_weight": "method_params.threshold"})
    assert next(r for r in pm.evaluate([], other, metric="test_ua", keys=["method_params.threshold"])
                if r.kind == "unlabeled_active").holds is False
    # no weight of the sweep let the term act: not tested
    none = table({0.001: 0.40, 0.01: 0.41}, unlabeled_loss_active_share=1.0, unlabeled_term_share_mean=1e-4)
    assert next(r for r in pm.evaluate([], none, metric="test_ua", keys=["method_params.unsup_weight"])
                if r.kind == "unlabeled_active").holds is False


def test_diagnosis_names_a_negligible_weighted_term():
    from semiemo.analysis.diagnosis import unlabeled_inert

    t = table({0.01: 0.40, 0.02: 0.41}, unlabeled_loss_active_share=1.0, unlabeled_term_share_mean=1e-4)
    finding = unlabeled_inert(t)
    assert finding.explains and "under 1% of the loss" in finding.line and "1.0e-04" in finding.line


def test_premises_without_their_columns_are_not_measured_and_change_nothing():
    t = table({0.1: 0.40, 1.0: 0.50, 3.0: 0.45})
    res = pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
    states = {r.kind: r.state for r in res}
    assert states["unlabeled_active"] == "not measured" and states["selected_after_rampup"] == "not measured"
    assert pm.failed(res) == []


# --- selected epoch past the ramp-up --------------------------------------------------------------------------
def test_selection_inside_the_ramp_up_fails_its_premise():
    t = table({0.1: 0.40, 1.0: 0.50}, selected_epoch=2, selection_start_epoch=10)
    r = next(r for r in pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
             if r.kind == "selected_after_rampup")
    assert r.holds is False and r.value == 0.0 and "median selected epoch 2" in r.measured


def test_selection_past_the_ramp_up_holds():
    t = table({0.1: 0.40, 1.0: 0.50}, selected_epoch=14, selection_start_epoch=10)
    r = next(r for r in pm.evaluate([], t, metric="test_ua", keys=["method_params.unsup_weight"])
             if r.kind == "selected_after_rampup")
    assert r.holds is True


# --- teacher informative ---------------------------------------------------------------------------------------
def test_a_visual_teacher_at_chance_fails_and_an_informed_one_holds():
    near_chance = table({"a": 0.4, "b": 0.5}, method="dcmkt", x="arm", teacher_accuracy=0.339)
    r = next(r for r in pm.evaluate([], near_chance, metric="test_ua", keys=["arm"]) if r.kind == "teacher_informative")
    assert r.holds is False and "0.339" in r.measured and "chance 0.333" in r.measured
    informed = table({"a": 0.4, "b": 0.5}, method="dcmkt", x="arm", teacher_accuracy=0.6)
    r = next(r for r in pm.evaluate([], informed, metric="test_ua", keys=["arm"]) if r.kind == "teacher_informative")
    assert r.holds is True


def test_a_binary_proxy_teacher_is_judged_against_its_own_chance_not_the_tasks():
    # paper 004: 4-class task (chance 0.25), proxies low/high (chance 0.5): 0.508 is no teacher at all
    at_chance = table({"a": 0.3, "b": 0.4}, method="avspnet", x="arm", teacher_accuracy=0.508, teacher_chance=0.5)
    at_chance["test_confusion"] = json.dumps(np.eye(4).tolist())
    r = next(r for r in pm.evaluate([], at_chance, metric="test_ua", keys=["arm"]) if r.kind == "teacher_informative")
    assert r.holds is False and "chance 0.500" in r.measured
    r = next(r for r in pm.evaluate([], at_chance.drop(columns="teacher_chance"), metric="test_ua", keys=["arm"])
             if r.kind == "teacher_informative")
    assert r.holds is True and "chance 0.250" in r.measured


def test_the_teacher_premise_applies_only_to_teacher_methods():
    t = table({0.1: 0.40, 1.0: 0.50})
    assert all(r.kind != "teacher_informative" for r in pm.evaluate([], t, metric="test_ua", keys=["x"]))


def test_a_yaml_teacher_premise_replaces_the_generic_margin():
    t = table({"a": 0.4, "b": 0.5}, method="cmkt", x="arm", teacher_accuracy=0.40)
    res = pm.evaluate([Premise(kind="teacher_informative", threshold=0.05)], t, metric="test_ua", keys=["arm"])
    teacher = [r for r in res if r.kind == "teacher_informative"]
    assert len(teacher) == 1 and teacher[0].holds is True and teacher[0].generic is False


# --- label gap --------------------------------------------------------------------------------------------------
def test_a_closed_label_gap_fails_and_an_open_one_holds():
    closed = table({0.05: 0.50, 1.0: 0.51}, method="supervised", x="label_fraction")
    p = Premise(kind="label_gap", high={"label_fraction": 1.0}, low={"label_fraction": 0.05}, threshold=0.05)
    r = pm.evaluate([p], closed, metric="test_ua", keys=["label_fraction"])
    gap = next(x for x in r if x.kind == "label_gap")
    assert gap.holds is False and gap.value == pytest.approx(0.01)
    opened = table({0.05: 0.40, 1.0: 0.60}, method="supervised", x="label_fraction")
    gap = next(x for x in pm.evaluate([p], opened, metric="test_ua", keys=["label_fraction"]) if x.kind == "label_gap")
    assert gap.holds is True


# --- a declared column premise -----------------------------------------------------------------------------------
def test_a_column_premise_reads_its_column_with_its_stat_and_side():
    t = table({0.1: 0.4, 1.0: 0.5}, fer_share_above_0_9=0.02)
    p = Premise(kind="column", column="fer_share_above_0_9", threshold=0.1, description="FER confidences reach τ")
    r = next(x for x in pm.evaluate([p], t, metric="test_ua", keys=["x"]) if x.kind == "column")
    assert r.holds is False and r.statement == "FER confidences reach τ"


# --- points distinguishable --------------------------------------------------------------------------------------
def test_points_within_seed_noise_make_the_verdict_undetermined():
    t = table({0: 0.40, 1: 0.41, 2: 0.405}, noise=0.05, method="supervised", x="x")
    res = pm.evaluate([], t, metric="test_ua", keys=["x"])
    flat = pm.indistinct(res)
    assert flat is not None and flat.value < 2.0
    v = judged(shape_verdict(curve([0.40, 0.41, 0.405]), ShapeClaim(kind="peak_interior")), res)
    assert v.outcome == "undetermined" and "indistinguishable" in v.line


def test_points_well_apart_are_distinguishable():
    t = table({0: 0.40, 1: 0.60, 2: 0.50}, noise=0.01, method="supervised", x="x")
    res = pm.evaluate([], t, metric="test_ua", keys=["x"])
    assert pm.indistinct(res) is None
    v = judged(shape_verdict(curve([0.40, 0.60, 0.50]), ShapeClaim(kind="peak_interior")), res)
    assert v.outcome == "reproduced"


def test_an_exact_tie_of_every_point_is_named_as_such():
    t = table({0: 0.3655, 1: 0.3655}, noise=0.0, method="supervised", x="x")
    flat = pm.indistinct(pm.evaluate([], t, metric="test_ua", keys=["x"]))
    assert flat is not None and "exact tie" in flat.measured


# --- detectable difference ---------------------------------------------------------------------------------------
def test_detectable_difference_shrinks_with_seeds_and_seeds_needed_reaches_it():
    assert pm.minimum_detectable_difference(0.02, 3) > pm.minimum_detectable_difference(0.02, 10)
    n = pm.seeds_needed(0.01, 0.02)
    assert n is not None and pm.minimum_detectable_difference(0.02, n) <= 0.01 < pm.minimum_detectable_difference(0.02, n - 1)
    assert pm.seeds_needed(float("nan"), 0.02) is None


def test_paper_difference_reads_percentages_as_fractions():
    assert pm.paper_difference(pd.DataFrame({"value": ["61.2", "58.2", "shape: rises"]})) == pytest.approx(0.03)


# --- diagnosis ---------------------------------------------------------------------------------------------------
def test_diagnosis_names_an_inert_unlabeled_term_and_a_selection_inside_the_ramp_up_first():
    from semiemo.analysis.diagnosis import diagnose

    t = table({0.1: 0.40, 1.0: 0.40}, noise=0.0, unlabeled_loss_active_share=0.0, mask_rate_mean=0.0,
              selected_epoch=1, selection_start_epoch=5)
    found = diagnose(t, metric="test_ua", x="method_params.unsup_weight")
    names = [f.what for f in found if f.explains]
    assert names[:2] == ["unlabeled term inert", "selected inside the ramp-up"]
    tie = next(f for f in found if f.what == "seed noise")
    assert "Exact tie" in tie.line and "not seed noise" in tie.line


def test_a_report_whose_premise_failed_shows_the_means_without_saying_reproduced(tmp_path):
    from semiemo.analysis.reproduce import markdown_report
    from semiemo.tune.space import SearchSpace

    spec = SearchSpace.model_validate({
        "name": "t", "experiment": {"method": "fixmatch"},
        "parameters": {"method_params.unsup_weight": {"grid": [0.1, 1.0, 3.0]}},
        "reference": {"shape": {"kind": "increasing"}}})
    rising = table({0.1: 0.40, 1.0: 0.50, 3.0: 0.60}, unlabeled_loss_active_share=0.0, mask_rate_mean=0.0)
    text, verdict = markdown_report(spec, rising, tmp_path / "f.png", corpus="synthetic")
    assert verdict.outcome == "not tested" and "**NOT TESTED** (premise failed)" in text
    assert "REPRODUCED" not in text.replace("NOT REPRODUCED", "")   # the rising means are shown, not judged
    means_line = next(line for line in text.splitlines() if line.startswith("What the means show (not a verdict): "))
    assert means_line.startswith("What the means show (not a verdict): (increasing")
