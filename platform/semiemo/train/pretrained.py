"""Pretrained weights in the store, by key, and the resolver the trainer calls for `Method.pretrained_requests`.

Layout beside the feature shards (`$SEMIEMO_FEATURE_STORE`, any pyarrow filesystem URI):

    <store>/pretrained/<key>/state.pt     {"slot state": {name: tensor}, "spec": {...}, "summary": {...}}
    <store>/pretrained/<key>/spec.json    the recipe that made it (readable without torch)

The key is a hash of the recipe (corpus manifest hash, recipe, hyperparameters, seed), so a user
pre-trains once on a large unlabeled corpus and every fine-tuning run that names the same recipe
(or the key itself) loads the same weights. Files are written under a temporary name and renamed.
"""

from __future__ import annotations

import io
import json
import posixpath
import uuid
from typing import Any

import torch

PRETRAINED_DIR = "pretrained"
STATE_FILE = "state.pt"
SPEC_FILE = "spec.json"


class PretrainedStore:
    def __init__(self, root: str | None = None) -> None:
        from semiemo.features.store import FeatureStore

        store = FeatureStore(root)
        self.uri, self.fs = store.uri, store.fs
        self.root = posixpath.join(store.root, PRETRAINED_DIR)
        self.fs.create_dir(self.root, recursive=True)

    def _path(self, key: str, name: str) -> str:
        return posixpath.join(self.root, key, name)

    def exists(self, key: str) -> bool:
        from pyarrow.fs import FileType

        return self.fs.get_file_info(self._path(key, STATE_FILE)).type == FileType.File

    def save(self, key: str, weights: dict[str, torch.Tensor], spec: dict[str, Any], summary: dict[str, Any]) -> str:
        self.fs.create_dir(posixpath.join(self.root, key), recursive=True)
        buf = io.BytesIO()
        torch.save({"weights": weights, "spec": spec, "summary": summary}, buf)
        for name, payload in ((SPEC_FILE, json.dumps({"spec": spec, "summary": summary}, indent=1, default=str).encode()),
                              (STATE_FILE, buf.getvalue())):
            tmp = self._path(key, f".{name}.{uuid.uuid4().hex}")
            with self.fs.open_output_stream(tmp) as fh:
                fh.write(payload)
            self.fs.move(tmp, self._path(key, name))
        return key

    def load(self, key: str) -> dict[str, Any]:
        if not self.exists(key):
            known = self.keys()
            raise FileNotFoundError(f"no pretrained weights with key {key!r} in {self.uri}/{PRETRAINED_DIR}; "
                                    f"known keys: {known[:20]} — run `semiemo pretrain` first")
        with self.fs.open_input_stream(self._path(key, STATE_FILE)) as fh:
            from semiemo.train.checkpoint_io import load_state

            return load_state(fh.read())  # weights_only: a shared bucket's file runs no code here

    def keys(self) -> list[str]:
        from pyarrow.fs import FileSelector, FileType

        return sorted(i.base_name for i in self.fs.get_file_info(FileSelector(self.root, allow_not_found=True))
                      if i.type == FileType.Directory and self.exists(i.base_name))


def resolve(request: dict[str, Any], seed: int = 0, store_root: str | None = None) -> dict[str, torch.Tensor]:
    """Weights for one `Method.pretrained_requests` entry; pre-trains a recipe on demand when missing."""
    kind = request.get("kind")
    if kind == "avspnet_frontend":
        from semiemo.train.pretrain import ensure_frontend

        key = ensure_frontend(request, seed=seed, store_root=store_root)
        return PretrainedStore(store_root).load(key)["weights"]
    raise ValueError(f"unknown pretrained request kind {kind!r}; known: ['avspnet_frontend']")
