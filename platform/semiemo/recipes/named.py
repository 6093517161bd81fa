"""Named run recipes: a YAML of experiment settings a user applies to any corpus with `--recipe NAME|PATH`.

A recipe fills in the settings the user did not give on the command line (a flag given explicitly
always wins), so `semiemo train --corpus mycorpus --recipe ssl_speech` runs the recipe's method,
hyperparameters and training budget on `mycorpus`, and `--epochs 5` still shortens it. The file holds
`experiment:` (a fragment of `train.config.ExperimentConfig`; a misspelled key is an error naming the
allowed ones), a `description:` and `measured:` (what the recipe's numbers were, where, so a reader
knows how far it is backed).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def recipe_names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def load_recipe(name_or_path: str) -> dict[str, Any]:
    """The recipe's `experiment:` fragment, validated against ExperimentConfig."""
    from semiemo.train.config import ExperimentConfig

    path = Path(name_or_path)
    if not path.suffix:
        path = HERE / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ValueError(f"no recipe {name_or_path!r}; named recipes: {recipe_names()} (or give a YAML path)")
    raw = yaml.safe_load(path.read_text()) or {}
    fragment = raw.get("experiment")
    if not isinstance(fragment, dict):
        raise ValueError(f"{path}: a recipe needs an 'experiment:' mapping of ExperimentConfig settings")
    ExperimentConfig.model_validate(fragment)  # a misspelled key fails here, naming it
    return fragment


def apply_recipe(config: Any, fragment: dict[str, Any], explicit: set[str]) -> Any:
    """`config` (an ExperimentConfig) with the recipe's settings, except those in `explicit` (dotted
    paths such as 'train.epochs' or 'method_params' that the user set on the command line)."""
    merged = config.model_dump()
    for path, value in _flatten(fragment):
        if any(path == e or path.startswith(f"{e}.") for e in explicit):
            continue
        node = merged
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = copy.deepcopy(value)
    return type(config).model_validate(merged)


def _flatten(fragment: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in fragment.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("method_params", "label_map", "transformer", "views"):
            out += _flatten(value, f"{path}.")
        else:
            out.append((path, value))
    return out
