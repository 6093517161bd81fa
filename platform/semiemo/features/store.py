"""The feature store: Parquet shards keyed by (manifest hash, featurizer name, config hash).

Layout, under a root that is a local folder or any URI `pyarrow.fs.FileSystem.from_uri` accepts:

    <root>/<manifest_hash>/<featurizer>-<config_hash>/
        _meta.json                 featurizer config, output schema, block size, counts
        shard-00000.parquet        rows of manifest block 0 (manifest sorted by utt_id)
        errors/shard-00000.parquet rows of block 0 that failed: utt_id, reason, stage, detail

A block is a fixed slice `[b*block_size, (b+1)*block_size)` of the manifest sorted by `utt_id`, so
a shard's existence says "block b is done" and a resumed run computes only the missing blocks. Every
file is written under a temporary name and renamed into place, so a crash never leaves half a shard,
and a block recomputed twice overwrites itself: each utterance is stored exactly once.

Array fields are Arrow fixed-size lists of their flattened per-row shape (readable by any Parquet
tool; 100k x 1582 float32 loads in about a second); shapes live in the schema metadata.
"""

from __future__ import annotations

import io
import json
import posixpath
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from semiemo.features.base import FieldSpec, config_hash

META_FILE = "_meta.json"
ERRORS_DIR = "errors"
SHAPES_METADATA_KEY = b"semiemo.shapes"
ERROR_COLUMNS = ("utt_id", "reason", "stage", "detail")
RESERVED_COLUMNS = ("utt_id", "flags")


@dataclass(frozen=True)
class StoreKey:
    """Identity of one featurized corpus: change the manifest or the config and the key changes."""

    manifest_hash: str
    featurizer: str
    config_hash: str

    @property
    def relpath(self) -> str:
        return f"{self.manifest_hash}/{self.featurizer}-{self.config_hash}"

    def __str__(self) -> str:
        return self.relpath

    @classmethod
    def parse(cls, relpath: str) -> "StoreKey":
        manifest_hash, _, leaf = relpath.strip("/").partition("/")
        featurizer, _, chash = leaf.rpartition("-")
        if not manifest_hash or not featurizer or not chash:
            raise ValueError(f"not a store key: {relpath!r}; expected '<manifest_hash>/<featurizer>-<config_hash>'")
        return cls(manifest_hash, featurizer, chash)


def store_key(manifest_hash: str, featurizer: Any) -> StoreKey:
    """The key of `featurizer` (name + config) applied to the manifest with hash `manifest_hash`."""
    return StoreKey(manifest_hash, featurizer.name, config_hash(featurizer.config))


def shard_name(block: int) -> str:
    return f"shard-{block:05d}.parquet"


def _block_of(name: str) -> int | None:
    if name.startswith("shard-") and name.endswith(".parquet"):
        try:
            return int(name[len("shard-"):-len(".parquet")])
        except ValueError:
            return None
    return None


class FeatureStore:
    """A store root; hands out `StoreEntry`s. Picklable through its `uri` (workers rebuild it)."""

    def __init__(self, root: str | Path | None = None):
        if root is None:
            from semiemo.storage import feature_store_root

            root = feature_store_root()
        from semiemo import storage

        self.uri = str(root)
        self.fs, self.root = storage.filesystem(self.uri)
        with storage.explained_write(self.uri):   # a missing bucket: one line naming it, not pyarrow's traceback
            self.fs.create_dir(self.root, recursive=True)

    def __reduce__(self):
        return (FeatureStore, (self.uri,))

    def entry(self, key: StoreKey) -> "StoreEntry":
        return StoreEntry(self.fs, posixpath.join(self.root, key.relpath), key)

    def entries(self) -> list["StoreEntry"]:
        """Every entry that has a `_meta.json`, sorted by manifest hash then featurizer."""
        selector = pafs.FileSelector(self.root, recursive=False, allow_not_found=True)
        out = []
        for mdir in self.fs.get_file_info(selector):
            if mdir.type != pafs.FileType.Directory:
                continue
            for edir in self.fs.get_file_info(pafs.FileSelector(mdir.path, allow_not_found=True)):
                if edir.type != pafs.FileType.Directory:
                    continue
                try:
                    key = StoreKey.parse(f"{mdir.base_name}/{edir.base_name}")
                except ValueError:
                    continue
                entry = StoreEntry(self.fs, edir.path, key)
                if entry.meta() is not None:
                    out.append(entry)
        return sorted(out, key=lambda e: (e.key.manifest_hash, e.key.featurizer, e.key.config_hash))

    def find(self, text: str) -> "StoreEntry":
        """The one entry whose key is `text`, starts with it, or whose featurizer is `text`."""
        text = text.strip("/")
        entries = self.entries()
        matches = [e for e in entries if e.key.relpath == text]
        if not matches:
            matches = [e for e in entries if e.key.relpath.startswith(text)]
        if not matches and "/" not in text:  # a featurizer name, or '<featurizer>-<config prefix>'
            matches = [e for e in entries if e.key.featurizer == text or
                       f"{e.key.featurizer}-{e.key.config_hash}".startswith(text)]
        if len(matches) != 1:
            known = ", ".join(e.key.relpath for e in entries) or "none"
            what = "no entry" if not matches else f"{len(matches)} entries"
            raise KeyError(f"{what} in {self.uri} match {text!r}; entries: {known}")
        return matches[0]


class StoreEntry:
    """One (manifest, featurizer, config) directory: its shards, errors and metadata."""

    def __init__(self, fs: pafs.FileSystem, path: str, key: StoreKey):
        self.fs, self.path, self.key = fs, path, key

    # -- metadata --------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any] | None:
        try:
            with self.fs.open_input_stream(posixpath.join(self.path, META_FILE)) as f:
                return json.loads(f.read().decode())
        except (FileNotFoundError, OSError):
            return None

    def write_meta(self, meta: dict[str, Any]) -> None:
        self._atomic_write(posixpath.join(self.path, META_FILE),
                           json.dumps(meta, indent=2, sort_keys=True, default=str).encode())

    # -- blocks ----------------------------------------------------------------------------------
    def done_blocks(self) -> set[int]:
        """Blocks whose shard is committed (its rename happened)."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True))
        return {b for i in infos if (b := _block_of(i.base_name)) is not None}

    def write_block(self, block: int, table: pa.Table, errors: pd.DataFrame) -> None:
        """Commit one block: its errors first, then its shard (whose presence marks the block done)."""
        self.fs.create_dir(posixpath.join(self.path, ERRORS_DIR), recursive=True)
        err_path = posixpath.join(self.path, ERRORS_DIR, shard_name(block))
        if len(errors):
            errs = pa.Table.from_pandas(errors[list(ERROR_COLUMNS)].astype(str), preserve_index=False)
            self._atomic_write(err_path, _parquet_bytes(errs))
        else:
            _delete_if_exists(self.fs, err_path)
        self._atomic_write(posixpath.join(self.path, shard_name(block)), _parquet_bytes(table))

    def _atomic_write(self, path: str, payload: bytes) -> None:
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        self.fs.create_dir(posixpath.dirname(path), recursive=True)
        with self.fs.open_output_stream(tmp) as f:
            f.write(payload)
        self.fs.move(tmp, path)

    # -- reading ---------------------------------------------------------------------------------
    def shard_paths(self) -> list[str]:
        return [posixpath.join(self.path, shard_name(b)) for b in sorted(self.done_blocks())]

    def read_table(self, columns: list[str] | None = None) -> pa.Table:
        paths = self.shard_paths()
        if not paths:
            return _empty_table(self.meta() or {}, columns)
        tables = [pq.read_table(p, filesystem=self.fs, columns=columns) for p in paths]
        return pa.concat_tables(tables, promote_options="default")

    def read_errors(self) -> pd.DataFrame:
        base = posixpath.join(self.path, ERRORS_DIR)
        infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
        done = self.done_blocks()
        # only errors of committed blocks: a crashed block is recomputed, its errors rewritten
        paths = sorted(i.path for i in infos if (b := _block_of(i.base_name)) is not None and b in done)
        if not paths:
            return pd.DataFrame({c: pd.Series(dtype=str) for c in ERROR_COLUMNS})
        return pd.concat([pq.read_table(p, filesystem=self.fs).to_pandas() for p in paths], ignore_index=True)

    def field_specs(self) -> dict[str, FieldSpec]:
        meta = self.meta() or {}
        return {k: FieldSpec(tuple(v["shape"]), v["dtype"]) for k, v in meta.get("schema", {}).items()}

    def load_groups(self, utt_ids: Any, fields: list[str] | None = None) -> "LoadedGroups":
        """Arrays of `fields` (default: all) for the rows of `utt_ids` that are stored, in that order.

        `present[i]` says whether utt_ids[i] has features; the arrays hold only present rows.
        """
        specs = self.field_specs()
        fields = list(specs) if fields is None else list(fields)
        table = self.read_table(columns=["utt_id", "flags", *fields])
        wanted = pd.Index(np.asarray(utt_ids, dtype=object))
        stored = pd.Index(table.column("utt_id").to_numpy(zero_copy_only=False))
        if stored.has_duplicates:
            dup = stored[stored.duplicated()].unique()[:5].tolist()
            raise RuntimeError(f"store entry {self.key} holds duplicate utt_ids {dup}: the store is corrupt; "
                               f"delete {self.path} and featurize again")
        pos = stored.get_indexer(wanted)
        present = pos >= 0
        take = pa.array(pos[present], type=pa.int64())
        arrays = {f: decode_column(table.column(f).take(take), specs[f]) for f in fields}
        flags = table.column("flags").take(take).to_numpy(zero_copy_only=False)
        return LoadedGroups(present=present, fields=arrays, flags=flags)

    # -- summaries -------------------------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        """ok / flagged rows, flags (audio repairs) and errors by reason, blocks done — read from the store itself."""
        ok = flagged = 0
        flag_reasons: dict[str, int] = {}
        for p in self.shard_paths():
            flags = pq.read_table(p, filesystem=self.fs, columns=["flags"]).column("flags")
            ok += len(flags)
            for text in flags.to_pylist():
                if text:
                    flagged += 1
                    for reason in text.split(","):  # one row may carry several repairs
                        flag_reasons[reason] = flag_reasons.get(reason, 0) + 1
        errors = self.read_errors()
        by_reason = {str(k): int(v) for k, v in errors["reason"].value_counts().items()} if len(errors) else {}
        return {"ok": ok, "flagged": flagged, "flags_by_reason": flag_reasons, "errors": int(len(errors)),
                "errors_by_reason": by_reason, "blocks_done": len(self.done_blocks())}

    def size_bytes(self) -> int:
        infos = self.fs.get_file_info(pafs.FileSelector(self.path, recursive=True, allow_not_found=True))
        return int(sum(i.size or 0 for i in infos if i.type == pafs.FileType.File))


@dataclass
class LoadedGroups:
    present: np.ndarray  # [N] bool, aligned with the requested utt_ids
    fields: dict[str, np.ndarray]  # name -> [N_present, *shape]
    flags: np.ndarray  # [N_present] str: audio repairs ("" when none)


# -- encoding ------------------------------------------------------------------------------------


def encode_table(utt_ids: list[str], flags: list[str], outputs: dict[str, np.ndarray],
                 schema: dict[str, FieldSpec]) -> pa.Table:
    """A shard: utt_id, flags, then one column per schema field (fixed-size list for arrays)."""
    n = len(utt_ids)
    columns: dict[str, pa.Array] = {"utt_id": pa.array(utt_ids, pa.string()), "flags": pa.array(flags, pa.string())}
    for name, spec in schema.items():
        columns[name] = encode_column(outputs[name], spec, n)
    shapes = {name: {"shape": list(spec.shape), "dtype": spec.dtype} for name, spec in schema.items()}
    return pa.table(columns).replace_schema_metadata({SHAPES_METADATA_KEY: json.dumps(shapes).encode()})


def encode_column(values: Any, spec: FieldSpec, n: int) -> pa.Array:
    if spec.dtype in ("str", "string"):
        return pa.array([str(v) for v in values], pa.string())
    arr = np.ascontiguousarray(np.asarray(values, dtype=spec.dtype))
    if arr.shape != (n, *spec.shape):
        raise ValueError(f"field has shape {arr.shape}, schema says {(n, *spec.shape)}")
    if not spec.shape:
        return pa.array(arr)
    width = int(np.prod(spec.shape))
    return pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1)), width)


def decode_column(column: pa.ChunkedArray, spec: FieldSpec) -> np.ndarray:
    n = len(column)
    if spec.dtype in ("str", "string"):
        return column.to_numpy(zero_copy_only=False)
    if not spec.shape:
        return column.to_numpy().astype(spec.dtype, copy=False)
    chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if n == 0:
        return np.zeros((0, *spec.shape), dtype=spec.dtype)
    flat = chunk.flatten().to_numpy(zero_copy_only=False)  # honours the slice/offset of the chunk
    return flat.astype(spec.dtype, copy=False).reshape(n, *spec.shape)


def arrow_type(spec: FieldSpec) -> pa.DataType:
    if spec.dtype in ("str", "string"):
        return pa.string()
    value = pa.from_numpy_dtype(np.dtype(spec.dtype))
    return pa.list_(value, int(np.prod(spec.shape))) if spec.shape else value


def schema_to_json(schema: dict[str, FieldSpec]) -> dict[str, Any]:
    return {k: asdict(v) | {"shape": list(v.shape)} for k, v in schema.items()}


def _empty_table(meta: dict[str, Any], columns: list[str] | None) -> pa.Table:
    specs = {k: FieldSpec(tuple(v["shape"]), v["dtype"]) for k, v in meta.get("schema", {}).items()}
    fields = [pa.field("utt_id", pa.string()), pa.field("flags", pa.string())]
    fields += [pa.field(k, arrow_type(s)) for k, s in specs.items()]
    schema = pa.schema(fields)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    return schema.empty_table()


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", use_dictionary=["utt_id", "flags", "reason", "stage"])
    return sink.getvalue()


def _delete_if_exists(fs: pafs.FileSystem, path: str) -> None:
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        fs.delete_file(path)
