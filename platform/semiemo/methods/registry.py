"""Find methods by name. A method module registers itself with `@register`."""

from __future__ import annotations

import importlib
from typing import Callable

_REGISTRY: dict[str, type] = {}

# Modules imported on first lookup, so `get_method("fixmatch")` works without importing everything by hand.
_BUILTIN_MODULES: tuple[str, ...] = (
    "supervised", "svm", "pseudo_label", "pi_model", "temporal_ensembling", "mean_teacher",
    "mixmatch", "fixmatch", "sae", "mmmd", "cmdm", "cmkt", "dcmkt", "ssgan", "fsbase", "avspnet",
)


def register(cls: type) -> type:
    name = getattr(cls, "name", "")
    if not name:
        raise ValueError(f"{cls.__qualname__} has no `name`")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"method name {name!r} registered twice")
    _REGISTRY[name] = cls
    return cls


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"semiemo.methods.{mod}")
        except ModuleNotFoundError as e:  # a module not written yet must not hide the others
            if e.name != f"semiemo.methods.{mod}":
                raise


def get_method(name: str) -> type:
    _load_builtins()
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; available: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def available_methods() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


Registrar = Callable[[type], type]
