"""Reading checkpoints and results without running code from the file.

Checkpoints and pre-trained front-ends may come from a shared bucket: `torch.load` runs with
`weights_only=True`, which rebuilds tensors, containers and primitives and refuses anything else. The
few numpy types a state may carry (arrays, their dtypes, scalars) are registered as safe globals here.
A fold's result travels as JSON (`result.json`), never as a pickle.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

_registered = False


def _numpy_safe_globals() -> list[Any]:
    import numpy.dtypes as dtypes

    found: list[Any] = [np.ndarray, np.dtype]
    for mod_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            mod = __import__(mod_name, fromlist=["_reconstruct", "scalar"])
        except ImportError:
            continue
        found += [getattr(mod, "_reconstruct"), getattr(mod, "scalar")]
        break
    found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return found


def register_safe_globals() -> None:
    global _registered
    if not _registered:
        torch.serialization.add_safe_globals(_numpy_safe_globals())
        _registered = True


def load_state(source: str | Path | bytes) -> Any:
    """`torch.load(..., weights_only=True)` of a file or of bytes, on the CPU."""
    register_safe_globals()
    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    return torch.load(handle, map_location="cpu", weights_only=True)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def result_to_json(result: Any) -> str:
    """A FoldResult (dataclass) as JSON; NaN kept (`json` writes it as NaN); the trained method left out."""
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "method"}
    return json.dumps(_plain(fields))


def result_from_json(text: str) -> Any:
    from semiemo.train.loop import FoldResult

    data = json.loads(text)
    known = {f.name for f in dataclasses.fields(FoldResult)}
    return FoldResult(**{k: v for k, v in data.items() if k in known})


__all__ = ["load_state", "register_safe_globals", "result_to_json", "result_from_json"]
