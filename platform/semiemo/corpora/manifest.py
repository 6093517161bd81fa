"""Read, write, hash and validate manifests — the one table every later stage trusts.

Validation exists so that a bad row is found *before* a 500k-utterance run, named by its
position and `utt_id`, with the fix spelled out; it never stops at the first problem.
Checks are vectorised (pandas / one directory listing per folder) so 500k rows take seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from semiemo.corpora.audio_header import probe_audio_header
from semiemo.corpora.label_check import misspelled_labels
from semiemo.corpora.problem import Problem
from semiemo.corpora.schema import REQUIRED_COLUMNS

# Columns whose cells are lists (or JSON of lists in CSV): decoded on CSV read, encoded on CSV write.
LIST_COLUMNS: tuple[str, ...] = ("votes", "annotators", "face_features", "fer_probs")
# Per-frame model inputs carried in the manifest (synthetic corpora): featurizers turn them into feature
# groups, after which nothing reads them. Kept, they travel twice: the FeatureSet that every trial
# receives pickled 0.89 GB with them and 0.57 GB without (23,000 utterances x 18 faces x 342), so
# `load_featureset` leaves them out of `FeatureSet.manifest`.
FRAME_PAYLOAD_COLUMNS: tuple[str, ...] = ("face_features", "fer_probs")

MANIFEST_FILENAME = "manifest.parquet"


# ----------------------------------------------------------------------------------------------
# read / write
# ----------------------------------------------------------------------------------------------


def resolve_manifest_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_FILENAME
    return p


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest from Parquet or CSV (a folder means its `manifest.parquet`).

    CSV bytes that are not UTF-8 do not crash the read: they come back as surrogate escapes, a
    warning is raised, and `validate_manifest` names each such row and the codec to use instead.
    """
    p = resolve_manifest_file(path)
    if not p.exists():
        raise FileNotFoundError(f"manifest not found: {p} (give a .parquet/.csv file or a folder holding {MANIFEST_FILENAME})")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(p)
    if suffix in (".csv", ".tsv"):
        return _read_csv_manifest(p, sep="\t" if suffix == ".tsv" else ",")
    raise ValueError(f"unsupported manifest format {suffix!r} for {p}: use .parquet or .csv")


def _read_csv_manifest(p: Path, sep: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(p, sep=sep, encoding="utf-8")
    except UnicodeDecodeError:
        # Keep undecodable bytes as surrogate escapes in object columns (Arrow strings cannot hold
        # them) so validation can name each row; numbers are recovered column by column.
        df = pd.read_csv(p, sep=sep, encoding="utf-8", encoding_errors="surrogateescape", dtype=object)
        for col in df.columns:
            try:
                df[col] = pd.to_numeric(df[col])
            except (ValueError, TypeError):
                pass
        warnings.warn(
            f"{p}: some bytes are not valid UTF-8; run `semiemo corpora validate {p}` to see which rows "
            "and which codec decodes them",
            stacklevel=3,
        )
    for col in LIST_COLUMNS:
        if col in df.columns:
            df[col] = df[col].astype(object).map(_json_or_value)
    if "labeled" in df.columns and not pd.api.types.is_bool_dtype(df["labeled"].dtype):
        df["labeled"] = df["labeled"].astype(object).map(_parse_bool)
    return df


def write_manifest(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a manifest to Parquet (or CSV, list columns as JSON); atomic via a temporary file."""
    p = Path(path)
    if p.suffix == "" or p.is_dir():
        p = p / MANIFEST_FILENAME
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    if p.suffix.lower() == ".parquet":
        out = df.reset_index(drop=True)
        for col in out.columns:  # Arrow stores nested lists, not n-d arrays: F x D → F rows of D
            if out[col].dtype == object and any(isinstance(v, np.ndarray) and v.ndim > 1 for v in out[col]):
                out = out.assign(**{col: out[col].map(lambda v: list(v) if isinstance(v, np.ndarray) and v.ndim > 1 else v)})
        out.to_parquet(tmp, index=False)
    elif p.suffix.lower() == ".csv":
        out = df.reset_index(drop=True).copy()
        for col in out.columns:
            if out[col].dtype == object and out[col].map(_is_listlike).any():
                out[col] = out[col].map(lambda v: json.dumps(_to_jsonable(v)) if _is_listlike(v) else v)
        out.to_csv(tmp, index=False)
    else:
        raise ValueError(f"unsupported manifest format {p.suffix!r} for {p}: use .parquet or .csv")
    os.replace(tmp, p)
    return p


def _json_or_value(v):
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _parse_bool(v):
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1", "yes", "y", "t"):
            return True
        if s in ("false", "0", "no", "n", "f", ""):
            return False
    return v


def _is_listlike(v) -> bool:
    return isinstance(v, (list, tuple, np.ndarray, dict))


def _to_jsonable(v):
    if isinstance(v, np.ndarray):
        return [_to_jsonable(x) for x in v.tolist()] if v.dtype == object else v.tolist()
    if isinstance(v, (list, tuple)):
        return [_to_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _to_jsonable(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v


# ----------------------------------------------------------------------------------------------
# content hash
# ----------------------------------------------------------------------------------------------


def manifest_hash(df: pd.DataFrame) -> str:
    """A stable content hash: same rows and values → same hash, whatever the row order, the column
    order, the index or an in-memory vs Parquet round trip (string/int dtypes are canonicalised).

    It keys the feature store, so it must be cheap on 500k rows: rows are ordered by `utt_id` with
    an Arrow sort, and every column is hashed as whole buffers (numbers as float64, text as Arrow
    offsets + bytes, list columns as their flattened values + offsets), never cell by cell.
    """
    order = None
    if "utt_id" in df.columns:
        order = pc.sort_indices(_to_arrow_text(df["utt_id"]))
    h = _hasher()
    h.update(f"rows={len(df)}".encode())
    for col in sorted(df.columns, key=str):
        h.update(b"\x00col\x00" + str(col).encode())
        h.update(_column_digest(df[col], order))
    return h.hexdigest()[:16]


_NA_TOKEN = "\x00<NA>"


def _hasher(data: bytes = b""):
    return hashlib.sha256(data)


def _column_digest(s: pd.Series, order: pa.Array | None) -> bytes:
    idx = None if order is None else order.to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        return b"num" + _float_bytes(arr if idx is None else arr[idx])
    if isinstance(s.dtype, pd.CategoricalDtype):
        digest = _categorical_text_digest(s, idx)
        if digest is not None:
            return b"str" + digest
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        arr = _to_arrow_text(s)
        return b"str" + _arrow_text_digest(arr if order is None else arr.take(order))
    values = s.to_numpy(dtype=object)
    if idx is not None:
        values = values[idx]
    if kind in ("integer", "floating", "mixed-integer-float", "boolean", "decimal"):
        return b"num" + _float_bytes(pd.to_numeric(pd.Series(values, dtype=object)).to_numpy(dtype="float64", na_value=np.nan))
    if any(_is_listlike(v) for v in values):
        return _list_column_digest(values)
    # anything else as text (bytes as hex)
    text = [v.hex() if isinstance(v, bytes) else (v if isinstance(v, str) or v is None else str(v)) for v in values]
    return b"str" + _arrow_text_digest(_to_arrow_text(pd.Series(text, dtype=object)))


def _to_arrow_text(s: pd.Series) -> pa.Array:
    """A text column as one Arrow large_string array; undecodable cells (surrogate escapes) as their bytes' hex."""
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        arr = pa.array([v.encode("utf-8", "surrogateescape").hex() if isinstance(v, str) else v
                        for v in s.astype(object)], from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    return arr.cast(pa.large_string())


def _arrow_text_digest(arr: pa.Array) -> bytes:
    """Hash a large_string array by its buffers: nulls → one token, offsets rebased, bytes as one block."""
    arr = pc.fill_null(arr, _NA_TOKEN)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    h = _hasher((offsets - offsets[0]).tobytes())
    data = arr.buffers()[2]
    if data is not None and len(offsets):
        h.update(memoryview(data)[int(offsets[0]): int(offsets[-1])])
    return h.digest()


CATEGORICAL_CHUNK_ROWS = 16_384


def _categorical_text_digest(s: pd.Series, idx: np.ndarray | None) -> bytes | None:
    """`_arrow_text_digest` of a text categorical's expanded values, computed without expanding them.

    Why: the synthetic pool's manifest carries its ~1 KB `synth_config` as one category; expanding it
    to one string per row (what the generic path does) made hashing a 500,000-row manifest hold ~0.5 GB
    for a moment, the driver's peak in the 500k run (issue 27). Here the rebased offsets come from the
    categories' byte lengths and the bytes are hashed `CATEGORICAL_CHUNK_ROWS` rows at a time: the same
    digest in bounded memory. None (use the generic path) for non-text categories or text that is not
    valid UTF-8, whose generic handling rewrites the whole column.
    """
    cats = s.cat.categories
    if not all(isinstance(c, str) for c in cats):
        return None
    try:
        encoded = [c.encode("utf-8") for c in cats] + [_NA_TOKEN.encode("utf-8")]
    except UnicodeEncodeError:
        return None
    codes = s.cat.codes.to_numpy().astype(np.int64)
    if idx is not None:
        codes = codes[idx]
    codes = np.where(codes < 0, len(cats), codes)  # NaN -> the null token, as fill_null does
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(lengths[codes], out=offsets[1:])
    h = _hasher(offsets.tobytes())
    for start in range(0, len(codes), CATEGORICAL_CHUNK_ROWS):
        h.update(b"".join([encoded[c] for c in codes[start:start + CATEGORICAL_CHUNK_ROWS]]))
    return h.digest()


def _float_bytes(arr: np.ndarray) -> bytes:
    arr = np.where(np.isnan(arr), np.nan, arr).astype("<f8")  # one NaN bit pattern
    return _hasher(arr.tobytes()).digest()


def _as_numeric_array(v) -> np.ndarray | None:
    """A (nested) list or numpy array of numbers as one ndarray; None if ragged or not numeric."""
    if isinstance(v, np.ndarray) and v.dtype == object:
        if len(v) == 0:
            return np.zeros(0)
        if isinstance(v[0], np.ndarray) and v[0].dtype.kind in "biuf":  # a Parquet-read 2-D row
            try:
                a = np.stack(list(v))
                return a if a.dtype.kind in "biuf" else None
            except ValueError:
                return None
        parts = [_as_numeric_array(x) for x in v]
        if any(p is None for p in parts) or len({p.shape for p in parts}) != 1:
            return None
        return np.stack(parts)
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], np.ndarray):
        return _as_numeric_array(np.array(v + [None], dtype=object)[:-1])
    try:
        a = np.asarray(v)
    except ValueError:
        return None
    return a if a.dtype.kind in "biuf" else (np.zeros(0) if a.size == 0 else None)


def _numeric_rows_digest(values: np.ndarray) -> bytes | None:
    h = _hasher(b"ndrows")
    for v in values:
        if not _is_listlike(v):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                h.update(b"\x00null")
                continue
            return None
        a = _as_numeric_array(v)
        if a is None:
            return None
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return h.digest()


def _list_column_digest(values: np.ndarray) -> bytes:
    """Hash a column of (nested) lists through Arrow: leaf values + per-level offsets + nulls.

    In-memory lists and the numpy arrays a Parquet read returns give the same digest. Numeric
    rows (face features, F x 342) take a faster path: each row's shape and float64 bytes.
    """
    first = next((v for v in values if _is_listlike(v)), None)
    if first is not None and _as_numeric_array(first) is not None:
        digest = _numeric_rows_digest(values)
        if digest is not None:
            return digest
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        try:
            arr = pa.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else _to_jsonable(v)
                            for v in values])
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            text = [json.dumps(_to_jsonable(v), sort_keys=True) for v in values]
            return b"json" + _arrow_text_digest(_to_arrow_text(pd.Series(text, dtype=object)))
    h = _hasher(b"list")
    while pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        h.update(np.asarray(arr.is_null()).tobytes())
        offsets = np.asarray(arr.offsets, dtype=np.int64)
        h.update((offsets - offsets[0]).tobytes())
        arr = arr.flatten()
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_boolean(arr.type):
        h.update(_float_bytes(arr.to_numpy(zero_copy_only=False).astype("float64")))
    elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        h.update(_arrow_text_digest(arr.cast(pa.large_string())))
    else:
        h.update(_arrow_text_digest(_to_arrow_text(pd.Series(
            [json.dumps(v, sort_keys=True) for v in arr.to_pylist()], dtype=object))))
    return h.digest()


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------

# Candidate mojibake / undecodable characters: Latin-1 high range (UTF-8 or GB18030 bytes read
# as Latin-1/cp1252 always produce some), the replacement char, and surrogate escapes.
_SUSPECT_RE = "[\u00a1-\u00ff\ufffd\ud800-\udfff]"
_SURROGATE_RE = "[\ud800-\udfff]"


def validate_manifest(
    df: pd.DataFrame,
    root: str | os.PathLike | None = None,
    label_set: Iterable[str] | None = None,
    check_audio: bool = True,
) -> list[Problem]:
    """Every problem in `df`, in table order of checks; an empty list means the manifest is usable.

    root: folder that relative `path`s are resolved against (the manifest's folder).
    label_set: the declared classes; a `label` outside it is reported.
    check_audio: look for every audio file on disk (one directory listing per folder).
    Rows with a `synth_config` are regenerated on the worker and need no `path`.
    """
    problems: list[Problem] = []
    df = df.reset_index(drop=True)
    utt = df["utt_id"].astype(object).to_numpy() if "utt_id" in df.columns else None
    utt_missing = pd.isna(utt) if utt is not None else None

    def uid(i: int) -> str | None:
        if utt is None or utt_missing[i]:
            return None
        return str(utt[i])

    for col in REQUIRED_COLUMNS:
        if col not in df.columns:
            problems.append(Problem(
                None, None, col, f"required column {col!r} is missing",
                _MISSING_COLUMN_FIX.get(col, f"add a {col!r} column"), "missing_column"))

    if utt is not None:
        problems += _check_utt_ids(df, uid)
    if "split_group" in df.columns:
        problems += _check_empty(df, "split_group", uid, "empty_split_group",
                                 "set split_group to the speaker (or session) the row belongs to; "
                                 "folds are built from it")
    for col in ("speaker", "corpus", "domain", "labeled"):
        if col in df.columns:
            problems += _check_empty(df, col, uid, "empty_value", f"fill {col!r}: it is a required column")
    if label_set is not None:
        problems += _check_labels(df, set(label_set), uid)
    else:
        problems += misspelled_labels(df, uid)
    if "labeled" in df.columns and "label" in df.columns:
        lab = df["labeled"].fillna(False).astype(bool).to_numpy() & df["label"].isna().to_numpy()
        for i in np.flatnonzero(lab):
            problems.append(Problem(int(i), uid(i), "label", "row is marked labeled=True but has no label",
                                    "give the label, or set labeled=False to use it as unlabeled data",
                                    "missing_label"))
    if check_audio:
        problems += _check_audio(df, root, uid)
    for col in ("text",):
        if col in df.columns:
            problems += _check_text_encoding(df[col], col, uid)
    return problems


_MISSING_COLUMN_FIX = {
    "utt_id": "add a unique 'utt_id' per row (e.g. the audio file name without extension)",
    "corpus": "add a 'corpus' column naming the data set (e.g. 'casia')",
    "split_group": "add 'split_group' = the speaker (or session) each row belongs to",
    "speaker": "add a 'speaker' column (an id per speaker; folds are speaker-independent)",
    "domain": "add a 'domain' column: 'acted' or 'wild' (or pass --domain when importing)",
    "labeled": "add a boolean 'labeled' column (True where the label may be used for training)",
}


def _blank_mask(s: pd.Series) -> np.ndarray:
    """Missing or whitespace-only cells (vectorised for text columns)."""
    mask = s.isna().to_numpy().copy()
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind == "string":
        mask |= s.astype(object).fillna("x").str.strip().eq("").to_numpy(dtype=bool) if s.dtype == object \
            else s.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    elif kind not in ("empty", "boolean", "integer", "floating", "mixed-integer-float", "decimal"):
        mask |= np.fromiter((isinstance(v, str) and not v.strip() for v in s.to_numpy(dtype=object)),
                            dtype=bool, count=len(s))
    return mask


def _check_empty(df, col, uid, kind, fix) -> list[Problem]:
    return [Problem(int(i), uid(i), col, f"{col!r} is empty", fix, kind) for i in np.flatnonzero(_blank_mask(df[col]))]


def _check_utt_ids(df, uid) -> list[Problem]:
    out = [Problem(int(i), None, "utt_id", "utt_id is empty", "give every row a unique utt_id", "empty_value")
           for i in np.flatnonzero(_blank_mask(df["utt_id"]))]
    ids = df["utt_id"].astype(object)
    dup = ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    if dup.any():
        first = ids[~ids.duplicated(keep="first")]
        first_pos = pd.Series(first.index.to_numpy(), index=first.to_numpy())
        for i in np.flatnonzero(dup):
            j = int(first_pos[ids.iat[i]])
            out.append(Problem(int(i), uid(i), "utt_id", f"duplicate utt_id (first seen at row {j})",
                               "make utt_id unique, e.g. prefix it with the speaker or folder, or drop the repeated row",
                               "duplicate_utt_id"))
    return out


def _check_labels(df, label_set: set[str], uid) -> list[Problem]:
    if "label" not in df.columns:
        return []
    lab = df["label"].astype(object)
    bad = lab.notna().to_numpy() & ~lab.isin(label_set).to_numpy()
    values = lab.to_numpy()
    allowed = ", ".join(sorted(map(str, label_set)))
    return [Problem(int(i), uid(i), "label", f"unknown label {values[i]!r} for the declared label set",
                    f"use one of {{{allowed}}} (map the corpus's names onto them), or declare the label set that includes it",
                    "unknown_label") for i in np.flatnonzero(bad)]


def _check_audio(df, root, uid) -> list[Problem]:
    has_synth = df["synth_config"].notna().to_numpy() if "synth_config" in df.columns else np.zeros(len(df), bool)
    if "path" not in df.columns:
        need = np.flatnonzero(~has_synth)
        return [Problem(int(i), uid(i), "path", "row has neither an audio 'path' nor a 'synth_config'",
                        "add a 'path' column pointing at the audio file", "missing_audio") for i in need]
    blank = _blank_mask(df["path"])
    out = [Problem(int(i), uid(i), "path", "row has neither an audio 'path' nor a 'synth_config'",
                   "give the audio file's path (absolute, or relative to the manifest's folder)", "missing_audio")
           for i in np.flatnonzero(blank & ~has_synth)]
    check = np.flatnonzero(~blank & ~has_synth)
    if not len(check):
        return out
    # One directory listing per folder, then a vectorised membership test: no stat per row.
    base = str(Path(root) if root is not None else Path.cwd()).rstrip(os.sep)
    paths = df["path"].iloc[check].astype(str)
    full = paths.where(paths.str.startswith(os.sep), base + os.sep + paths)
    parts = full.str.rpartition(os.sep)
    dirs = parts[0]
    present: set[str] = set()
    absent_dirs: set[str] = set()
    for d in dirs.unique():
        try:
            present.update(d + os.sep + name for name in os.listdir(d or os.sep))
        except OSError:
            absent_dirs.add(d)
    exists = full.isin(present).to_numpy(dtype=bool)
    for k in np.flatnonzero(~exists):
        i = int(check[k])
        why = "folder does not exist" if dirs.iat[k] in absent_dirs else "file not in its folder"
        out.append(Problem(i, uid(i), "path", f"audio file not found: {full.iat[k]} ({why})",
                           "fix the path (relative paths resolve against the manifest's folder; pass --root "
                           "if the audio lives elsewhere) or drop the row", "missing_audio"))
    for k in np.flatnonzero(exists):  # a header probe per file (no decoding): what featurize would refuse
        error = probe_audio_header(full.iat[k])
        if error is not None:
            i = int(check[k])
            out.append(Problem(i, uid(i), "path", str(error),
                               "re-export the file (e.g. `ffmpeg -i in -ar 16000 -ac 1 out.wav`) or drop the row",
                               "bad_audio"))
    return sorted(out, key=lambda p: (p.row is None, p.row or 0))


def _check_text_encoding(col: pd.Series, name: str, uid) -> list[Problem]:
    out: list[Problem] = []
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind == "empty":
        return out
    obj = col.astype(object)
    if kind != "string":
        is_bytes = np.fromiter((isinstance(v, (bytes, bytearray)) for v in obj.to_numpy()), dtype=bool, count=len(obj))
        for i in np.flatnonzero(is_bytes):
            out.append(_bytes_problem(bytes(obj.iat[i]), int(i), uid, name))
        obj = obj.where(obj.map(lambda v: isinstance(v, str)), None)
    if col.dtype != object and kind == "string":
        # Arrow-backed strings (they cannot hold surrogate escapes): a C++ regex pre-filter.
        suspect = col[col.str.contains("[\u00a1-\u00ff\ufffd]", regex=True).fillna(False).to_numpy(dtype=bool)]
    else:
        values = obj.to_numpy()
        rx = re.compile(_SUSPECT_RE)
        hit = np.fromiter((isinstance(v, str) and rx.search(v) is not None for v in values), dtype=bool, count=len(values))
        suspect = obj[hit]
    for i, text in suspect.items():
        problem = _diagnose_text(text)
        if problem is not None:
            message, fix = problem
            out.append(Problem(int(i), uid(int(i)), name, message, fix, "text_encoding"))
    return sorted(out, key=lambda p: p.row)


def _bytes_problem(raw: bytes, i: int, uid, name: str) -> Problem:
    try:
        raw.decode("utf-8")
        return Problem(i, uid(i), name, "text is stored as bytes, not a string",
                       "decode it with encoding='utf-8' before writing the manifest", "text_encoding")
    except UnicodeDecodeError as e:
        codec = _guess_codec(raw)
        return Problem(i, uid(i), name, f"text bytes are not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 4]!r})",
                       f"decode the source with encoding={codec!r}" if codec else
                       "decode the source with its real codec (e.g. GB18030, cp1252) before writing", "text_encoding")


def _guess_codec(raw: bytes) -> str | None:
    for codec in ("gb18030", "big5", "shift_jis", "cp1252"):
        try:
            raw.decode(codec)
            return codec.upper() if codec == "gb18030" else codec
        except UnicodeDecodeError:
            continue
    return None


_NON_ASCII_RUN = re.compile("[^\x00-\x7f]+")


def _diagnose_text(text: str) -> tuple[str, str] | None:
    """(message, fix) when a string is undecodable or mojibake; None when it is fine text."""
    if re.search(_SURROGATE_RE, text):
        raw = text.encode("utf-8", errors="surrogateescape")
        codec = _guess_codec(raw)
        return ("text holds bytes that are not valid UTF-8",
                f"re-read the source with encoding={codec!r}" if codec else "re-read the source with its real codec")
    if "\ufffd" in text:
        return ("text contains U+FFFD replacement characters: it was decoded with the wrong codec and bytes were lost",
                "decode the original bytes again with the right codec (e.g. encoding='GB18030' for Chinese, 'cp1252' for Western text)")
    for wrong in ("latin-1", "cp1252"):
        try:
            raw = text.encode(wrong)
        except UnicodeEncodeError:
            continue
        try:
            fixed = raw.decode("utf-8")
            if fixed != text:
                return (f"mojibake: UTF-8 bytes decoded as {wrong} (would read {fixed[:40]!r})",
                        "decode the source with encoding='utf-8'")
        except UnicodeDecodeError:
            pass
        # GB18030 read as a single-byte codec: every non-ASCII run is whole 2-byte characters
        runs = [len(m.group()) for m in _NON_ASCII_RUN.finditer(text)]
        if runs and all(n % 2 == 0 for n in runs):
            try:
                fixed = raw.decode("gb18030")
            except UnicodeDecodeError:
                continue
            if re.search("[\u4e00-\u9fff]", fixed):
                return (f"mojibake: GB18030 bytes decoded as {wrong} (would read {fixed[:40]!r})",
                        "decode the source with encoding='GB18030'")
    return None
