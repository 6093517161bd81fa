"""One plain function run in several Ray tasks at once, for code that must not import Ray itself.

`semiemo scale` times a serial loop in one task per core (`scale.measure.concurrent_rates`); that is
a list of calls and their results, not a pipeline, so it needs neither Ray Data nor Tune.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def run_in_tasks(function: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *,
                 num_cpus: float = 1) -> list[Any]:
    """`function(*args)` for every `args` in `calls`, each in its own Ray task of `num_cpus` CPUs, all
    submitted at once; the results in the order of `calls`. Ray must be running (`ray_runtime.init_ray`)."""
    import ray

    task = ray.remote(num_cpus=num_cpus)(function)
    return ray.get([task.remote(*args) for args in calls])
