"""Golden trainer runs: every gradient-trained method on a fixed seed and fold, recorded step by step.

`run_all()` trains each case and returns, per case, every step's named losses (what `train_step`
returned, as floats), the per-epoch history the trainer reported, the best epoch, the steps run and
the test metrics. `tests/data/trainer_goldens.json` holds these numbers as recorded on the trainer
before issue 24's refactor; `tests/test_trainer_golden.py` asserts that the trainer still produces
them bit for bit. Cases cover single-worker training of every registered method, a resume from a
mid-run checkpoint (one- and two-optimizer methods, a warm-up method), and 2-worker DDP (gloo, two
processes) of fixmatch, temporal_ensembling (rank-summed buffers), mmmd (phases) and mssgan (two
optimizers). `svm` is not trained by the loop and has no case.

Regenerate deliberately (a behaviour change meant to happen), and say why in the commit:
    PYTHONPATH=platform:tests python tests/trainer_golden_cases.py --write

Bit identity holds on one CPU and torch build only: float32 kernels differ in their last bits between
CPU models (an AMD EPYC and an Intel Xeon gave supervised losses 1.1538554430 vs 1.1538555622). The file
records the machine it was written on (`machine_signature()`); there floats compare exactly, elsewhere
within `FOREIGN_RTOL` (integers, strings and lengths always exactly) — regenerate on the machine that
refactors, so its refactors are checked bit for bit.
"""

from __future__ import annotations

import copy
import json
import math
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from av_fold import av_fold
from gaussian_featureset import gaussian_fold_data
from semiemo.methods.base import hparams_from_dict
from semiemo.methods.registry import get_method
from semiemo.train.config import TrainConfig
from semiemo.train.loop import FoldData, fit_fold, model_spec
from semiemo.train.streams import Split

GOLDEN_FILE = Path(__file__).parent / "data" / "trainer_goldens.json"
FOREIGN_RTOL, FOREIGN_ATOL = 1e-4, 1e-6   # another CPU's float32 last bits, grown over a case's few dozen steps
SEED = 3


# --- folds -------------------------------------------------------------------------------------
def gaussian(unlabeled: int = 60) -> FoldData:
    return gaussian_fold_data(separation=2.0, unlabeled=unlabeled, seed=1)


def domains() -> FoldData:
    from test_mmmd import synthetic_fold

    return synthetic_fold(n_acted=24, n_wild=24, n_unlabeled=32, seed=0)


def multimodal() -> FoldData:
    from test_cmdm import _multimodal

    eye = np.eye(4, dtype=np.float32)
    split = lambda n, s: (lambda xy: Split(xy[0], targets=eye[xy[1]]))(_multimodal(n, s))  # noqa: E731
    return FoldData(train=split(32, 0), val=split(16, 1), test=split(16, 2), unlabeled=Split(_multimodal(32, 9)[0]),
                    class_names=["anger", "happiness", "neutral", "sadness"])


def sequences() -> FoldData:
    from test_ssgan import _seq_fold

    return _seq_fold({"fbank": 20}, n_unlabeled=32, seed=0)


def two_sequences() -> FoldData:
    from test_ssgan import _seq_fold

    return _seq_fold({"fbank": 20, "face": 30}, n_unlabeled=32, seed=0)


def segments() -> FoldData:
    from test_avspnet import _segment_fold

    return _segment_fold(n_per_class=8, seed=0)


def pretrain_segments() -> FoldData:
    """One [F, T] segment per row with a binary proxy label (-1 unknown: a zero target row)."""
    rng = np.random.default_rng(0)

    def split(n: int) -> Split:
        y = rng.integers(-1, 2, size=n)
        x = rng.normal(size=(n, 24, 20)).astype(np.float32)
        x[y == 1, :12] *= 3.0
        targets = np.zeros((n, 2), np.float32)
        targets[y >= 0] = np.eye(2, dtype=np.float32)[y[y >= 0]]
        return Split({"avsp_segment": x}, {}, targets)

    return FoldData(train=split(24), val=split(8), test=split(8), class_names=["low", "high"])


def audiovisual() -> FoldData:
    return av_fold(n_train=24, n_unlabeled=32, seed=2, inconsistency=0.3)


# --- cases -------------------------------------------------------------------------------------
SSGAN_SMALL = {"crop_frames": 16, "width_scale": 1 / 32}
CMDM_SMALL = {"transformer_ffn": 32, "transformer_blocks": 1}
AVSP_SMALL = {"hidden": (16, 8), "channels": 4}
TINY_TRANSFORMER = {"layers": 1, "heads": 2, "d_model": 16, "ffn": 32}


def cfg(**kw: Any) -> TrainConfig:
    return TrainConfig(**{"num_threads": 1, "epochs": 2, "batch_size": 16, **kw})


# name -> (fold builder, method, method params, TrainConfig, model_spec kwargs)
CASES: dict[str, tuple[Callable[[], FoldData], str, dict, TrainConfig, dict]] = {
    "supervised": (lambda: gaussian(0), "supervised", {}, cfg(patience=1, epochs=3), {}),
    "pseudo_label": (gaussian, "pseudo_label", {"warmup_epochs": 1, "threshold": 0.5}, cfg(epochs=3, lr=3e-2), {}),
    "pseudo_label_online": (gaussian, "pseudo_label", {"warmup_epochs": 1, "online": True}, cfg(epochs=2), {}),
    "pi_model": (gaussian, "pi_model", {}, cfg(), {}),
    "temporal_ensembling": (gaussian, "temporal_ensembling", {}, cfg(batch_size=32), {}),
    "mean_teacher": (gaussian, "mean_teacher", {}, cfg(), {}),
    "mixmatch": (gaussian, "mixmatch", {}, cfg(), {}),
    "fixmatch": (gaussian, "fixmatch", {}, cfg(mu=2, steps_per_epoch=4), {}),
    "sae": (gaussian, "sae", {"pretrain_epochs": 1}, cfg(epochs=3, batch_size=32), {}),
    "mmmd": (domains, "mmmd", {"mcb_dim": 64}, cfg(), {}),
    "mmmd_w_avd": (domains, "mmmd_w_avd", {"mcb_dim": 64}, cfg(), {}),
    "mmmd_wo_avd": (domains, "mmmd_wo_avd", {"mcb_dim": 64}, cfg(), {}),
    "mmd": (domains, "mmd", {"mcb_dim": 64}, cfg(), {}),
    "cmdm": (multimodal, "cmdm", CMDM_SMALL, cfg(), {}),
    "cmkt_ff1": (audiovisual, "cmkt", {"fusion": "ff1"},
                 cfg(optimizer="adamax", lr=0.01, lr_schedule="warmup_step_decay", grad_clip_norm=1.0),
                 {"backbone": "transformer", "backbone_options": TINY_TRANSFORMER, "pad_sides": {"audio": "start"}}),
    "cmkt_ff2": (audiovisual, "cmkt", {"fusion": "ff2", "alpha": 0.8, "labeled_view": "weak"}, cfg(), {}),
    "dcmkt": (audiovisual, "dcmkt", {"pretrain_epochs": 1, "view": "strong"}, cfg(epochs=3), {}),
    "ssgan": (sequences, "ssgan", SSGAN_SMALL, cfg(lr=2e-4), {}),
    "mssgan": (two_sequences, "mssgan", SSGAN_SMALL, cfg(lr=2e-4), {}),
    "fsbase": (sequences, "fsbase", SSGAN_SMALL, cfg(), {}),
    "mfsbase": (two_sequences, "mfsbase", SSGAN_SMALL, cfg(), {}),
    "ssbase": (sequences, "ssbase", {**SSGAN_SMALL, "warmup_epochs": 1}, cfg(epochs=3), {}),
    "avspnet": (segments, "avspnet", AVSP_SMALL, cfg(batch_size=8), {}),
    "avspnet_pretrain": (pretrain_segments, "avspnet_pretrain", {"channels": 4}, cfg(batch_size=8), {}),
}
# case -> the epoch whose checkpoint the resumed run starts from
RESUME_CASES = {"supervised": 1, "pseudo_label": 1, "temporal_ensembling": 1, "mssgan": 1, "mmmd": 1}
DDP_CASES = ("fixmatch", "temporal_ensembling", "mmmd", "mssgan")


# --- recording ---------------------------------------------------------------------------------
def _scalar(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().reshape(-1)[0]) if v.numel() == 1 else [float(x) for x in v.detach().reshape(-1)]
    if isinstance(v, (bool, int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, np.ndarray):
        return v.astype(float).tolist()
    if isinstance(v, (list, tuple)):
        return [_scalar(x) for x in v]
    return str(v)


@contextmanager
def recording_steps(method_name: str) -> Iterator[list[dict[str, Any]]]:
    """Every `train_step` of the method's class returns its losses as usual; a copy of them as floats
    is appended to the yielded list (the trainer is not touched)."""
    cls = get_method(method_name)
    own = cls.__dict__.get("train_step")
    inner = cls.train_step
    steps: list[dict[str, Any]] = []

    def train_step(self, labeled, unlabeled, info):  # type: ignore[no-untyped-def]
        losses = inner(self, labeled, unlabeled, info)
        steps.append({"epoch": info.epoch, "phase": info.phase, **{k: _scalar(v) for k, v in sorted(losses.items())}})
        return losses

    cls.train_step = train_step  # type: ignore[method-assign]
    try:
        yield steps
    finally:
        if own is None:
            del cls.train_step
        else:
            cls.train_step = own  # type: ignore[method-assign]


def _summary(result: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"steps": steps, "history": [{k: _scalar(v) for k, v in sorted(h.items())} for h in result.history],
            "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "steps_run": result.steps_run,
            "stopped_early": result.stopped_early,
            "test_metrics": {k: _scalar(v) for k, v in sorted(result.test_metrics.items())}}


def run_case(name: str, **fit_kwargs: Any) -> dict[str, Any]:
    build, method, params, train, spec_kw = CASES[name]
    data = build()
    spec = model_spec(data, **spec_kw)
    with recording_steps(method) as steps:
        result = fit_fold(data, method, dict(params), train, spec, seed=SEED, **fit_kwargs)
    return _summary(result, steps)


def run_resume(name: str) -> dict[str, Any]:
    """Train the case, keep its checkpoint_state after epoch `RESUME_CASES[name]`, resume from it."""
    kept: dict[str, Any] = {}
    at = RESUME_CASES[name]

    def keep(_metrics: dict, state: dict) -> None:
        if state["epoch"] == at:
            kept["state"] = copy.deepcopy(state)

    full = run_case(name, report=keep)
    resumed = run_case(name, resume_state=kept["state"])
    return {"resumed_from": at, "full": full, "resumed": resumed}


# --- 2-worker DDP (gloo, one process per rank) ------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                         world_size=world_size)
    try:
        out = {}
        for name in DDP_CASES:
            method = CASES[name][1]
            cls = get_method(method)
            unused = cls.plan(hparams_from_dict(cls.HParams, CASES[name][2])).ddp_find_unused_parameters
            wrap = lambda m: torch.nn.parallel.DistributedDataParallel(m, find_unused_parameters=unused)  # noqa: E731
            out[name] = run_case(name, rank=rank, world_size=world_size, wrap_trainable=wrap)
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(out))
    finally:
        torch.distributed.destroy_process_group()


def run_ddp() -> dict[str, Any]:
    """Each DDP case on 2 workers; per case, both ranks' records."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_ddp_worker, args=(2, _free_port(), tmp), nprocs=2, join=True)
        ranks = [json.loads(Path(tmp, f"rank{r}.json").read_text()) for r in range(2)]
    return {name: {"rank0": ranks[0][name], "rank1": ranks[1][name]} for name in DDP_CASES}


def run_all() -> dict[str, Any]:
    torch.set_num_threads(1)
    return {"single": {name: run_case(name) for name in CASES},
            "resume": {name: run_resume(name) for name in RESUME_CASES},
            "ddp": run_ddp()}


# --- comparison --------------------------------------------------------------------------------
def machine_signature() -> str:
    """The CPU model and torch build whose float32 kernels the goldens were recorded with."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu} | torch {torch.__version__} | {platform.machine()}"


def differences(expected: Any, got: Any, path: str = "", rtol: float = 0.0, atol: float = 0.0) -> list[str]:
    """Paths where two records differ (floats exactly unless `rtol`/`atol`; NaN equals NaN)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = [f"{path}/{k}: missing" for k in expected if k not in got]
        out += [f"{path}/{k}: unexpected" for k in got if k not in expected]
        for k in expected:
            if k in got:
                out += differences(expected[k], got[k], f"{path}/{k}", rtol, atol)
        return out
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{path}: length {len(expected)} != {len(got)}"]
        return [d for i, (a, b) in enumerate(zip(expected, got)) for d in differences(a, b, f"{path}[{i}]", rtol, atol)]
    if isinstance(expected, float) and isinstance(got, float):
        if math.isnan(expected) and math.isnan(got):
            return []
        if rtol or atol:
            return [] if math.isclose(expected, got, rel_tol=rtol, abs_tol=atol) else [f"{path}: {expected!r} != {got!r}"]
    return [] if expected == got else [f"{path}: {expected!r} != {got!r}"]


def jsonable(record: Any) -> Any:
    """The record as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(record))


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit("usage: PYTHONPATH=platform:tests python tests/trainer_golden_cases.py --write")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN_FILE.write_text(json.dumps({**run_all(), "machine": machine_signature()}, indent=None, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN_FILE}")
