"""Fixtures shared by the test modules."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def ray_local():
    """A real local Ray with 2 CPUs for one test module; shut down after it."""
    from semiemo.ray_runtime import init_ray, shutdown_ray

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    init_ray(num_cpus=2)
    yield
    shutdown_ray()
