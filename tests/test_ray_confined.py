"""Ray is imported only in `features/pipeline.py`, `train/`, `tune/` and `jobs/` of the package.

Everything else (corpora, methods, models, analysis, scale, the CLI, the demo) reaches Ray through a
function of `semiemo.jobs`, so the layers below it run, import and test without a Ray runtime. This
reads every module of platform/semiemo with `ast` (imports anywhere: module top, functions, `if`
blocks; and `importlib.import_module("ray...")` / `__import__("ray...")`) and names each file and
line that imports Ray outside those places."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "platform" / "semiemo"
ALLOWED = ("features/pipeline.py", "train/", "tune/", "jobs/")   # relative to platform/semiemo/


def _is_ray(module: str | None) -> bool:
    return module is not None and (module == "ray" or module.startswith("ray."))


def ray_imports(source: str) -> list[tuple[int, str]]:
    """(line, statement) for every import of `ray` or a `ray.` submodule in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _is_ray(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_ray(node.module):
            found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            target = node.args[0].value
            if name in ("import_module", "__import__") and isinstance(target, str) and _is_ray(target):
                found.append((node.lineno, f"{name}({target!r})"))
    return sorted(found)


def allowed(relative: str) -> bool:
    return relative == ALLOWED[0] or relative.startswith(ALLOWED[1:])


def test_the_finder_sees_ray_imported_in_every_form():
    source = ("import os, ray\nfrom ray.data import DataContext\nimport rayleigh\nfrom .ray import x\n"
              "def f():\n    import ray.train as rt\n    importlib.import_module('ray.tune')\n")
    assert [line for line, _ in ray_imports(source)] == [1, 2, 6, 7]


def test_only_pipeline_train_tune_and_jobs_may_be_allowed():
    assert allowed("features/pipeline.py") and allowed("train/loop.py") and allowed("jobs/ray_runtime.py")
    assert not allowed("features/store.py") and not allowed("scale/study.py") and not allowed("demo.py")
    assert not allowed("trainer.py")


def test_ray_is_imported_only_in_pipeline_train_tune_and_jobs():
    outside = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if allowed(relative):
            continue
        outside += [f"platform/semiemo/{relative}:{line}: {what}" for line, what in ray_imports(path.read_text())]
    assert not outside, ("Ray imported outside features/pipeline.py, train/, tune/ and jobs/ (call a function of "
                         "semiemo.jobs instead):\n" + "\n".join(outside))
