"""Learning algorithms, one module each, found by name through `registry.get_method`."""

from semiemo.methods.base import Batch, Method, ModelSpec, StepInfo
from semiemo.methods.registry import available_methods, get_method, register

__all__ = ["Batch", "Method", "ModelSpec", "StepInfo", "available_methods", "get_method", "register"]
