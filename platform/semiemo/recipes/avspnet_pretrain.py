"""Paper 004's front-end pre-training as its own job: wild corpus -> proxy labels -> segments ->
`avspnet_pretrain` (the trainer's loop; a Ray Train TorchTrainer when `use_ray`) -> the conv stages'
weights in the store under a key (`train.pretrained`), which fine-tuning runs load by key.

Data: the corpus's `avsp` segments and `prosody` medians, its `speaker` (× `episode` when present)
and `text` columns. Proxy arousal from prosody, proxy valence from the transcript (eq. 1-4,
`semiemo.proxy_labels`); their class balance (and agreement with a hidden truth, where the corpus
has `arousal`/`valence` columns, binarised against each speaker's mean) is printed and returned.
Segments are z-scored per frequency bin with the wild corpus's statistics (spec §2). Training runs
a fixed number of epochs and keeps the last (no wild validation split; spec suggests early stopping,
which this does not do).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from semiemo import proxy_labels as pl
from semiemo.features.featureset import FeatureSet
from semiemo.methods.avspnet import PRETRAIN_CORPUS, PRETRAIN_GROUP
from semiemo.corpora import load_manifest
from semiemo.corpora.manifest import manifest_hash as corpus_manifest_hash
from semiemo.features import load_featureset
from semiemo.features.base import config_hash
from semiemo.paths import home
from semiemo.train.config import TrainConfig
from semiemo.train.distributed import DistributedFold, fit_fold_distributed
from semiemo.train.loop import FoldData, fit_fold, model_spec
from semiemo.train.pretrained import PretrainedStore
from semiemo.train.streams import Split

# paper 004 Table 2: recipe -> (proxy label used, α, auto-encoder first)
RECIPES: dict[str, tuple[str | None, float | None, bool]] = {
    "W_a": ("arousal", 0.0, False), "W_v": ("valence", 0.0, False),
    "AE": (None, 1.0, False),
    "W_AE_a": ("arousal", None, True), "W_AE_v": ("valence", None, True),
    "AV-SpNET_a": ("arousal", None, False), "AV-SpNET_v": ("valence", None, False),
}
KEY_EXCLUDES = ("workers", "use_ray", "feature_store", "cpus_per_worker")
PRETRAIN_FEATURES = ("avsp", "prosody")


class PretrainConfig(BaseModel):
    """One front-end pre-training run (paper 004 §3.1 and spec avspnet §2)."""

    model_config = ConfigDict(extra="forbid")

    corpus: str = PRETRAIN_CORPUS
    recipe: Literal["W_a", "W_v", "AE", "W_AE_a", "W_AE_v", "AV-SpNET_a", "AV-SpNET_v"] = "AV-SpNET_a"
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="α of AV-SpNET recipes (eq. 7)")
    epochs: int = Field(10, ge=1)
    ae_share: float = Field(0.5, gt=0.0, lt=1.0, description="W_AE: share of epochs spent as an auto-encoder")
    batch_size: int = 32                          # paper 004: 32
    lr: float = 1e-3                              # paper 004: Adam, 0.001
    optimizer: Literal["adam", "sgd"] = "adam"
    seed: int = 0
    dictionaries: list[str] = Field(default_factory=lambda: ["en_small", "vader"])
    tokenizer: Literal["english", "chinese"] = "english"
    min_baseline_utterances: int = 5
    pool_size: int = 2
    channels: int = 32
    workers: int = 1
    cpus_per_worker: float = 1.0
    use_ray: bool = True                          # False: in-process (inside a Tune trial)
    feature_store: str | None = None

    @model_validator(mode="after")
    def _two_phases_fit(self) -> "PretrainConfig":
        if RECIPES[self.recipe][2] and self.epochs < 2:
            raise ValueError(f"recipe {self.recipe} trains an auto-encoder, then the proxy branch: it needs epochs >= 2, "
                             f"got {self.epochs}")
        return self

    def method_params(self) -> dict[str, Any]:
        proxy, alpha, ae_first = RECIPES[self.recipe]
        return {"alpha": self.alpha if alpha is None else alpha,
                "ae_epochs": min(self.epochs - 1, max(1, int(round(self.epochs * self.ae_share)))) if ae_first else 0,
                "pool_size": self.pool_size, "channels": self.channels}

    def proxy(self) -> str:
        return RECIPES[self.recipe][0] or "arousal"  # AE ignores it (α = 1)

    def key(self, manifest_hash: str) -> str:
        payload = {k: v for k, v in self.model_dump().items() if k not in KEY_EXCLUDES}
        return f"avspnet-{self.recipe}-{config_hash({**payload, 'manifest_hash': manifest_hash})}"


def compute_proxies(manifest: pd.DataFrame, prosody: np.ndarray, cfg: PretrainConfig) -> dict[str, pl.ProxyLabels]:
    """Proxy arousal (prosody medians) and valence (transcripts) against each speaker's baseline."""
    for col in ("speaker",):
        if col not in manifest.columns:
            raise ValueError(f"pre-training needs a {col!r} column in the corpus manifest (per-speaker baselines)")
    groups = pl.baseline_groups(manifest["speaker"].astype(str).tolist(),
                                manifest["episode"].astype(str).tolist() if "episode" in manifest.columns else None)
    pcfg = pl.ProxyConfig(min_baseline_utterances=cfg.min_baseline_utterances)
    arousal = pl.proxy_arousal(prosody[:, 0], prosody[:, 1], groups, pcfg)
    texts = manifest["text"].tolist() if "text" in manifest.columns else [None] * len(manifest)
    valence = pl.proxy_valence(texts, groups, pl.dictionaries(cfg.dictionaries), pl.TOKENIZERS[cfg.tokenizer], pcfg)
    return {"arousal": arousal, "valence": valence}


def hidden_truth(manifest: pd.DataFrame, column: str) -> np.ndarray:
    """1/0 where the corpus has `column` (above/below its speaker's mean), -1 elsewhere (diagnostic only)."""
    if column not in manifest.columns:
        return np.full(len(manifest), -1)
    v = pd.to_numeric(manifest[column], errors="coerce")
    mean = v.groupby(manifest["speaker"].astype(str)).transform("mean")
    return np.where(v.notna(), (v > mean).astype(int), -1)


def segment_counts(fs: FeatureSet) -> np.ndarray:
    if "avsp" in fs.lengths:
        return np.asarray(fs.lengths["avsp"])
    if "avsp.num_segments" in fs.groups:
        return np.asarray(fs.groups["avsp.num_segments"]).astype(np.int64).reshape(-1)
    raise ValueError("the avsp features carry no segment count (lengths['avsp'] or group 'avsp.num_segments')")


def build_pretrain_data(fs: FeatureSet, cfg: PretrainConfig) -> tuple[FoldData, dict[str, Any]]:
    """Segments of every utterance, z-scored per bin, each with its utterance's proxy label (one-hot; zeros = unknown)."""
    if "avsp" not in fs.groups or "prosody" not in fs.groups:
        raise ValueError(f"pre-training needs the feature groups 'avsp' and 'prosody'; got {sorted(fs.groups)}")
    proxies = compute_proxies(fs.manifest, fs.groups["prosody"], cfg)
    summary: dict[str, Any] = {"utterances": len(fs), "dropped": dict(fs.dropped)}
    for name, lab in proxies.items():
        high, low = ("high", "low") if name == "arousal" else ("positive", "negative")
        summary[f"{name}_balance"] = lab.balance_line(high, low)
        summary[f"{name}_counts"] = lab.counts()
        summary[f"{name}_high_share"] = lab.high_share()
        summary[f"{name}_proxy_accuracy"] = pl.proxy_accuracy(lab.label, hidden_truth(fs.manifest, name))
    counts = segment_counts(fs)
    segs = fs.groups["avsp"]
    mask = np.arange(segs.shape[1])[None, :] < np.clip(counts, 1, segs.shape[1])[:, None]
    x = segs[mask].astype(np.float32)                         # [n_segments, F, T]
    utterance = np.nonzero(mask)[0]
    mean = x.mean(axis=(0, 2), keepdims=True)
    std = x.std(axis=(0, 2), keepdims=True)
    x = (x - mean) / np.where(std > 0, std, 1.0)              # per-bin z-score, wild statistics
    label = proxies[cfg.proxy()].label[utterance]
    targets = np.zeros((len(x), 2), np.float32)
    known = label >= 0
    targets[known, label[known]] = 1.0
    summary.update(segments=int(len(x)), segment_proxy_known=int(known.sum()), proxy_used=cfg.proxy())
    empty = Split({PRETRAIN_GROUP: x[:0]}, targets=targets[:0])
    return FoldData(train=Split({PRETRAIN_GROUP: x}, targets=targets), val=empty, test=None,
                    class_names=["low", "high"]), summary


def load_pretrain_features(cfg: PretrainConfig, stored_only: bool = False) -> tuple[FeatureSet, str]:
    """The wild corpus's `avsp` + `prosody` features and its manifest hash; featurizes what is missing
    (Ray Data) unless `stored_only`, where a missing block raises `FeaturesNotStored` instead."""
    manifest = load_manifest(cfg.corpus)
    fs = load_featureset(manifest, list(PRETRAIN_FEATURES), cfg.feature_store, stored_only=stored_only)
    return fs, corpus_manifest_hash(manifest.reset_index(drop=True))


def featurize_pretrain_corpus(cfg: PretrainConfig, address: str | None = None) -> str:
    """Store the wild corpus's features without loading them; its manifest hash (for `cfg.key`)."""
    from semiemo.features.pipeline import featurize

    manifest = load_manifest(cfg.corpus).reset_index(drop=True)
    return featurize(manifest, list(PRETRAIN_FEATURES), cfg.feature_store, address=address).manifest_hash


def pretrain_frontend(cfg: PretrainConfig, fs: FeatureSet | None = None, manifest_hash: str | None = None,
                      log: Any = print) -> tuple[str, dict[str, Any]]:
    """Pre-train, store the front-end, return (key, summary). Skips training when the key exists."""
    if fs is None:
        fs, manifest_hash = load_pretrain_features(cfg)
    key = cfg.key(manifest_hash or "in-memory")
    store = PretrainedStore(cfg.feature_store)
    if store.exists(key):
        log(f"front-end {key} already in {store.uri}; not pre-training again")
        return key, store.load(key)["summary"]
    data, summary = build_pretrain_data(fs, cfg)
    for name in ("arousal", "valence"):
        acc = summary[f"{name}_proxy_accuracy"]
        log(summary[f"{name}_balance"] + (f"; agreement with hidden {name}: {acc:.3f}" if acc == acc else ""))
    log(f"{summary['segments']} segments from {summary['utterances']} utterances; recipe {cfg.recipe} "
        f"(proxy {summary['proxy_used']}, params {cfg.method_params()})")
    train = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer=cfg.optimizer,
                        workers=cfg.workers, cpus_per_worker=cfg.cpus_per_worker)
    if cfg.use_ray:
        job = DistributedFold("avspnet_pretrain", cfg.method_params(), train, model_spec(data), cfg.seed)
        result, state = fit_fold_distributed(data, job, run_name=f"pretrain-{key}", storage_path=home() / "pretrain",
                                             cpus_per_worker=cfg.cpus_per_worker, return_state=True)
        method_state = state["method"]
    else:
        last: dict[str, Any] = {}
        result = fit_fold(data, "avspnet_pretrain", cfg.method_params(), train, seed=cfg.seed,
                          report=lambda _m, st: last.update(method=st["method"]))
        method_state = last["method"]
    prefix = "model.encoder."
    weights = {k[len(prefix):]: v.detach().cpu().clone() for k, v in method_state.items() if k.startswith(prefix)}
    hist = result.history
    summary.update(epochs=result.epochs_run, samples_per_s=result.samples_per_s, train_time_s=result.wall_time_s,
                   first_loss=hist[0].get("train/loss") if hist else None, last_loss=hist[-1].get("train/loss") if hist else None,
                   last_recon_loss=hist[-1].get("train/recon_loss") if hist else None,
                   last_proxy_loss=hist[-1].get("train/proxy_loss") if hist else None,
                   last_proxy_accuracy=hist[-1].get("train/proxy_accuracy") if hist else None)
    store.save(key, weights, {**cfg.model_dump(), "manifest_hash": manifest_hash}, summary)
    log(f"front-end {key}: loss {summary['first_loss']:.4f} -> {summary['last_loss']:.4f} in {result.epochs_run} epochs "
        f"({result.samples_per_s:.1f} segments/s); stored in {store.uri}")
    return key, summary


@contextlib.contextmanager
def _lock(name: str):
    """One process pre-trains a given key at a time (concurrent trials asking for the same recipe)."""
    path = Path(home()) / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recipe_config(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> PretrainConfig | None:
    """The in-process pre-training run an avspnet `frontend` request names, or None when it names a stored key."""
    name = request["frontend"]
    if name not in RECIPES:
        if not PretrainedStore(store_root).exists(name):
            raise ValueError(f"frontend {name!r} is neither a recipe {sorted(RECIPES)} nor a key in the store "
                             f"(keys: {PretrainedStore(store_root).keys()[:10]}); pre-train with `semiemo pretrain`")
        return None
    return PretrainConfig(corpus=request["corpus"], recipe=name, alpha=request["alpha"], epochs=request["epochs"],
                          seed=seed if int(request.get("seed", -1)) < 0 else int(request["seed"]),
                          pool_size=request["pool_size"], channels=request["channels"], use_ray=False,
                          feature_store=store_root)


def train_recipe(cfg: PretrainConfig, stored_only: bool = False, log: Any = print) -> dict[str, Any]:
    """Pre-train `cfg` unless its key is stored (one process per key at a time on this machine, `_lock`).

    Returns {key, trained, seconds}. `stored_only`: the corpus's features must already be stored (a
    caller inside a Ray task, where featurizing would wait for the CPUs the task holds)."""
    started = time.perf_counter()
    fs, mhash = load_pretrain_features(cfg, stored_only=stored_only)
    key = cfg.key(mhash)
    trained = False
    with _lock(key):
        if not PretrainedStore(cfg.feature_store).exists(key):
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            pretrain_frontend(cfg, fs, mhash, log=log)
            trained = True
    return {"key": key, "trained": trained, "seconds": time.perf_counter() - started}


def ensure_frontend(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> str:
    """The store key for an avspnet `frontend` request: a key as is, or a recipe pre-trained on demand."""
    cfg = recipe_config(request, seed, store_root)
    return request["frontend"] if cfg is None else train_recipe(cfg)["key"]
