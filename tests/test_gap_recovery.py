"""The `recovers_gap` claim (issue 26, `reproduce ssl_real_speech`): an SSL arm's share of the label gap,
paired per seed against supervised at its own label fraction and at 100 %, judged on its CI over seeds."""

from __future__ import annotations

import pandas as pd
import pytest

from semiemo.analysis.reproduce import recovers_gap_verdict
from semiemo.tune.space import ShapeClaim

CLAIM = ShapeClaim(kind="recovers_gap", value="recipe_10", high="supervised_100", share=0.3, min_seeds=3)


def _table(recipe_gain_per_seed, seeds=(0, 1, 2), folds=("f1", "f2")):
    """Supervised 0.40 @ 10 %, 0.60 @ 100 % (gap 0.20), every fold and seed; the recipe adds `gain` at 10 %."""
    rows = []
    for s, gain in zip(seeds, recipe_gain_per_seed):
        for k, fold in enumerate(folds):
            wobble = 0.01 * k
            rows += [{"arm": "supervised_10", "method": "supervised", "label_fraction": 0.1, "seed": s, "fold": fold,
                      "test_ua": 0.40 + wobble},
                     {"arm": "supervised_100", "method": "supervised", "label_fraction": 1.0, "seed": s, "fold": fold,
                      "test_ua": 0.60 + wobble},
                     {"arm": "recipe_10", "method": "fixmatch", "label_fraction": 0.1, "seed": s, "fold": fold,
                      "test_ua": 0.40 + wobble + gain, "view_source": "audio:strong=4,weak=4"}]
    return pd.DataFrame(rows)


def test_the_share_is_the_paired_gain_over_the_gap_and_a_large_one_reproduces_the_claim():
    verdict, lines = recovers_gap_verdict(_table([0.08, 0.10, 0.09]), CLAIM, "arm", "test_ua")
    assert verdict.reproduced is True
    assert "+0.450" in verdict.line            # mean of 0.40, 0.50, 0.45
    assert any(line.startswith("| recipe_10 | fixmatch | audio:strong=4,weak=4 | 10% |") for line in lines)


def test_a_share_above_zero_but_below_the_target_is_partly_reproduced():
    verdict, _ = recovers_gap_verdict(_table([0.02, 0.03, 0.025]), CLAIM, "arm", "test_ua")
    assert verdict.reproduced is False and verdict.partly


def test_a_share_whose_interval_covers_zero_is_not_reproduced():
    verdict, _ = recovers_gap_verdict(_table([0.06, -0.05, 0.0]), CLAIM, "arm", "test_ua")
    assert verdict.reproduced is False and not verdict.partly


def test_fewer_seeds_than_the_claim_needs_is_not_tested():
    verdict, _ = recovers_gap_verdict(_table([0.08, 0.1], seeds=(0, 1)), CLAIM, "arm", "test_ua")
    assert verdict.reproduced is None and "fewer than 3 seeds" in verdict.line


def test_an_arm_holding_two_label_fractions_is_an_error():
    table = _table([0.08, 0.1, 0.09])
    table.loc[table.index[-1], "label_fraction"] = 0.2
    with pytest.raises(ValueError, match="label fractions"):
        recovers_gap_verdict(table, CLAIM, "arm", "test_ua")


def test_reproduce_skips_ssl_real_speech_with_a_message_when_casia_is_absent(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from semiemo.cli import app

    monkeypatch.setenv("SEMIEMO_CASIA", str(tmp_path / "no_casia"))
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["reproduce", "ssl_real_speech", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "ssl_real_speech skipped" in result.output and "not a CASIA folder" in " ".join(result.output.split())


def test_a_file_missing_later_in_the_run_fails_the_command_instead_of_reporting_a_skip(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import semiemo.tune.runner as runner
    from semiemo.cli import app

    def lost_file(*args, **kwargs):   # what a sweep raises when, e.g., pre-trained weights it needs are gone
        raise FileNotFoundError("no pretrained weights with key 'abc' in /store/pretrained")

    monkeypatch.setattr(runner, "run_sweep", lost_file)
    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, ["reproduce", "ssl_positive_control", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "skipped" not in result.output
    assert isinstance(result.exception, FileNotFoundError) and "pretrained weights" in str(result.exception)


def test_the_ssl_real_speech_analysis_is_a_valid_spec_outside_the_quick_all():
    from semiemo.analysis.reproduce import spec_path
    from semiemo.tune.space import load_spec

    spec = load_spec(spec_path("ssl_real_speech"))
    assert not spec.in_all and spec.reference.shape.kind == "recovers_gap"
    assert {"supervised_10", "supervised_20", "supervised_100", spec.reference.shape.value} <= set(spec.arms)
    assert len(spec.seeds) >= 3 and spec.base_config().protocol.name == "loso"


def test_a_high_arm_below_100_percent_labels_is_an_error_naming_it():
    table = _table([0.08, 0.1, 0.09])
    table.loc[table["arm"] == "supervised_100", "label_fraction"] = 0.5
    with pytest.raises(ValueError, match="'supervised_100' runs at 50% labels"):
        recovers_gap_verdict(table, CLAIM, "arm", "test_ua")
