"""Named recipes (`--recipe ssl_speech`): settings a user applies to any corpus (issue 26, item 2)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from semiemo.commands.train import explicit_paths
from semiemo.recipes import apply_recipe, load_recipe, recipe_names
from semiemo.train.config import ExperimentConfig, TrainConfig


def test_ssl_speech_is_a_named_recipe_of_valid_experiment_settings():
    assert "ssl_speech" in recipe_names()
    fragment = load_recipe("ssl_speech")
    cfg = apply_recipe(ExperimentConfig(corpus="casia"), fragment, explicit=set())
    assert cfg.method == fragment["method"] and cfg.corpus == "casia"
    assert cfg.train.steps_per_epoch == fragment["train"]["steps_per_epoch"] and cfg.protocol.name == "loso"


def test_a_flag_given_on_the_command_line_wins_over_the_recipe():
    cfg = apply_recipe(ExperimentConfig(train=TrainConfig(epochs=3)), load_recipe("ssl_speech"), explicit={"train.epochs"})
    assert cfg.train.epochs == 3 and cfg.train.mu == load_recipe("ssl_speech")["train"]["mu"]


def test_a_misspelled_recipe_key_or_name_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment:\n  train: {epochz: 3}\n")
    with pytest.raises(ValueError, match="epochz"):
        load_recipe(str(bad))
    with pytest.raises(ValueError, match="ssl_speech"):
        load_recipe("no_such_recipe")


def test_only_flags_the_user_typed_count_as_explicit():
    app = typer.Typer()
    seen: list[set[str]] = []

    @app.command()
    def run(ctx: typer.Context, epochs: int = typer.Option(30, "--epochs"), mu: int = typer.Option(1, "--mu")) -> None:
        seen.append(explicit_paths(ctx, {"epochs": "train.epochs", "mu": "train.mu"}))

    assert CliRunner().invoke(app, ["--epochs", "30"]).exit_code == 0
    assert seen[-1] == {"train.epochs"}  # typed, even though equal to the default


def test_a_recipe_names_the_stored_views_and_a_views_flag_wins_over_them():
    fragment = {"method": "fixmatch", "views": {"weak": 4, "strong": 4}}
    assert apply_recipe(ExperimentConfig(), fragment, explicit=set()).views == {"weak": 4, "strong": 4}
    assert apply_recipe(ExperimentConfig(views="strong:2"), fragment, explicit={"views"}).views == {"strong": 2}
    with pytest.raises(ValueError, match="medium"):
        ExperimentConfig(views="medium:4")
