"""The storage root: one place (a folder or a URI) under which every output of semiemo lives.

`--storage` / `$SEMIEMO_STORAGE` takes a local path or anything `pyarrow.fs` resolves (`s3://`,
`gs://`, `file://`, `hdfs://`). Under it:

    features/            the feature store (Parquet shards, read and written through pyarrow.fs)
    runs/<name>/         `semiemo train`: results.parquet, TensorBoard, ray/ (Ray Train checkpoints)
    sweeps/<name>/       `semiemo sweep`: tune/ (Tune's experiment state), trials/, results, optuna.db
    reports/<budget>/    `semiemo reproduce`: figures and tables

Why one root: on a cluster every node must find what another node wrote, and a job submitted with
`--working-dir` starts in a per-upload folder that Ray deletes; outputs relative to it are lost.
URIs go to Ray (Train `storage_path`, Tune `storage_path`) untouched. Files that semiemo writes itself
(result tables, TensorBoard events, the SQLite study) are written into a local staging folder that
mirrors the URI (`$SEMIEMO_HOME/staging/...`) and uploaded when the stage ends (`writable`).

A local path is fine on one machine or on a filesystem every node mounts; on a cluster with more than
one node it is refused unless declared shared (`--storage-shared` / `$SEMIEMO_STORAGE_SHARED=1`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import posixpath
from pathlib import Path
from typing import Iterator

from semiemo.errors import OneLineError
from semiemo.paths import home

ENV = "SEMIEMO_STORAGE"
SHARED_ENV = "SEMIEMO_STORAGE_SHARED"
STAGING = "staging"


class StorageNotShared(OneLineError):
    """A local storage root on a multi-node cluster: other nodes would write where the driver never looks."""


class StorageUnreachable(OneLineError):
    """A URI whose bucket does not exist or cannot be reached: pyarrow's own message for it ends a command in a
    traceback and advises `allow_bucket_creation`, an option the user cannot set from here."""


def is_uri(location: str | Path) -> bool:
    return "://" in str(location)


def root() -> str:
    """`$SEMIEMO_STORAGE`, else `$SEMIEMO_HOME` (a local folder; see `semiemo.paths.home`)."""
    value = os.environ.get(ENV, "").strip()
    if value:
        return value if is_uri(value) else str(Path(value).expanduser().resolve())
    return str(home())


def join(base: str | Path, *parts: str) -> str:
    """`base/part/...` for a folder or a URI; a URI's query (`?endpoint_override=...`) stays at the end."""
    base = str(base)
    if not is_uri(base):
        return str(Path(base).expanduser().resolve().joinpath(*parts))
    head, sep, query = base.partition("?")
    return posixpath.join(head.rstrip("/"), *[p.strip("/") for p in parts]) + (sep + query if sep else "")


def location(*parts: str) -> str:
    """A place under the storage root, e.g. `location("runs", name)`."""
    return join(root(), *parts)


def feature_store_root() -> str:
    """`$SEMIEMO_FEATURE_STORE`, else `<storage root>/features`."""
    return os.environ.get("SEMIEMO_FEATURE_STORE") or location("features")


def runs_root() -> Path:
    """The local folder for `<storage root>/runs` (its staging mirror when the root is a URI)."""
    p = local_dir(location("runs"))
    p.mkdir(parents=True, exist_ok=True)
    return p


def filesystem(where: str | Path):
    """(pyarrow FileSystem, path inside it) for a folder or a URI."""
    import pyarrow.fs as pafs

    if is_uri(where):
        return pafs.FileSystem.from_uri(str(where))
    return pafs.LocalFileSystem(), str(Path(where).expanduser().resolve())


def bucket_of(where: str | Path) -> str:
    """The bucket of a URI (`s3://bucket/root` -> `bucket`); '' for a local folder or a `file://` URI."""
    import pyarrow.fs as pafs

    if not is_uri(where):
        return ""
    fs, path = filesystem(where)
    return "" if isinstance(fs, pafs.LocalFileSystem) else path.split("/", 1)[0]


def bucket_problem(where: str | Path) -> tuple[bool, str] | None:
    """(missing, why) when the bucket of the URI `where` cannot be written — missing: it does not exist at the
    endpoint; else the error reaching it — or None when it exists or `where` has no bucket. One HEAD request."""
    import pyarrow.fs as pafs

    bucket = bucket_of(where)
    if not bucket:
        return None
    fs, _ = filesystem(where)
    try:
        missing = fs.get_file_info(bucket).type == pafs.FileType.NotFound
    except OSError as e:
        return False, f"bucket {bucket!r} cannot be reached ({' '.join(str(e).split())})"
    return (True, f"bucket {bucket!r} does not exist at {_endpoint(where)}") if missing else None


def _endpoint(where: str | Path) -> str:
    for item in str(where).partition("?")[2].split("&"):
        key, _, value = item.partition("=")
        if key == "endpoint_override":
            return value
    return os.environ.get("AWS_ENDPOINT_URL") or "the provider's default endpoint"


def _unreachable(where: str | Path, problem: str, kept: Path | None = None) -> StorageUnreachable:
    scheme = str(where).split("://", 1)[0]
    settings = ("AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, or ?endpoint_override= "
                "in the URI" if scheme == "s3" else f"the {scheme} endpoint and credential settings")
    return StorageUnreachable(
        f"cannot write {where}: {problem}; create the bucket ({scheme}://{bucket_of(where)}) or, if it exists, "
        f"check {settings}" + (f"; the files are kept in {kept}" if kept else ""))


def require_bucket(where: str | Path) -> None:
    """Stop before any work when the URI `where` could never be written: its bucket does not exist. A bucket that
    cannot be looked at (no permission to list it, the endpoint down) is left to the writes themselves, which
    `explained_write` explains if they fail: a role may put objects in a bucket it may not list."""
    problem = bucket_problem(where)
    if problem and problem[0]:
        raise _unreachable(where, problem[1])


@contextlib.contextmanager
def explained_write(where: str | Path, kept: Path | None = None) -> Iterator[None]:
    """A write under the URI `where` that fails because of its bucket ends in `StorageUnreachable` (one line,
    naming the URI, the bucket and the fix; `kept`: the local folder that still holds the files). Any
    other failure is raised as it was."""
    try:
        yield
    except OSError as e:
        problem = bucket_problem(where) if is_uri(where) else None
        if problem is None:
            raise
        raise _unreachable(where, problem[1], kept) from e


def local_dir(where: str | Path) -> Path:
    """The folder semiemo writes for `where`: itself when local, its staging mirror for a URI."""
    if not is_uri(where):
        return Path(where).expanduser().resolve()
    name = base64.urlsafe_b64encode(str(where).encode()).decode().rstrip("=")
    return home() / STAGING / name


def remote_of(path: str | Path) -> str:
    """The inverse of `local_dir` for a path inside a staging mirror (else the path itself): what a
    process on another node must be told, since a staging folder exists only on this node."""
    path = Path(path)
    staging = home() / STAGING
    try:
        rel = path.resolve().relative_to(staging)
    except ValueError:
        return str(path)
    name, *rest = rel.parts
    uri = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    return join(uri, *rest) if rest else uri


def exists(where: str | Path) -> bool:
    import pyarrow.fs as pafs

    fs, path = filesystem(where)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def read_text(where: str | Path) -> str | None:
    """A small file's text, or None when it does not exist."""
    import pyarrow.fs as pafs

    fs, path = filesystem(where)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as fh:
        return fh.read().decode()


def write_text(where: str | Path, text: str) -> None:
    """Write a small file whole or not at all: on a local filesystem through a temporary name and a move (a
    reader, or a run resumed after a kill, never finds half of it); an object store's put is atomic itself."""
    import uuid

    import pyarrow.fs as pafs

    fs, path = filesystem(where)
    with explained_write(where):
        fs.create_dir(posixpath.dirname(path), recursive=True)
        local = isinstance(fs, pafs.LocalFileSystem)
        target = f"{path}.{uuid.uuid4().hex}.tmp" if local else path
        with fs.open_output_stream(target) as fh:
            fh.write(text.encode())
        if local:
            fs.move(target, path)


def remove_tree(where: str | Path) -> None:
    fs, path = filesystem(where)
    try:
        fs.delete_dir(path)
    except (FileNotFoundError, OSError):
        pass


def upload(local: str | Path, where: str | Path) -> None:
    """Copy a local folder's tree (or one file) to `where` (a URI or a folder)."""
    import pyarrow.fs as pafs

    local = Path(local)
    if not local.exists():
        return
    fs, path = filesystem(where)
    with explained_write(where, kept=local):
        fs.create_dir(posixpath.dirname(path) if local.is_file() else path, recursive=True)
        pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def download_files(where: str | Path, local: Path) -> None:
    """The plain files directly in `where` (not its sub-folders: Ray's checkpoints, trial folders)."""
    import pyarrow.fs as pafs

    fs, path = filesystem(where)
    local.mkdir(parents=True, exist_ok=True)
    for info in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
        if info.type == pafs.FileType.File:
            pafs.copy_files(info.path, str(local / info.base_name), source_filesystem=fs,
                            destination_filesystem=pafs.LocalFileSystem())


def publish(local: str | Path) -> str:
    """Upload a folder written in a staging mirror to the URI it mirrors and return that URI; a plain
    local folder is already where it belongs and comes back as is. For outputs whose local folder a
    command chose before it knew their size (`compare`'s report and run tables)."""
    remote = remote_of(local)
    if remote != str(Path(local)):
        upload(local, remote)
    return remote


@contextlib.contextmanager
def writable(where: str | Path) -> Iterator[Path]:
    """A local folder to write `where`'s files in. For a URI: its staging mirror, filled with the files
    already there (an earlier run's results table, a sweep's ledger) and uploaded on exit, also when
    the stage fails, so what finished is kept."""
    local = local_dir(where)
    if not is_uri(where):
        local.mkdir(parents=True, exist_ok=True)
        yield local
        return
    require_bucket(where)   # before the work, not after it: a missing bucket would only show at the upload
    download_files(where, local)
    try:
        yield local
    finally:
        upload(local, where)


def declared_shared() -> bool:
    return os.environ.get(SHARED_ENV, "").strip().lower() in ("1", "true", "yes")


def check_reachable(alive_nodes: int, where: str | None = None) -> None:
    """Refuse a local storage root on a cluster of more than one node unless it is declared shared
    (`jobs.ray_runtime.check_cluster` counts the nodes of the Ray cluster joined)."""
    where = where or root()
    if alive_nodes > 1 and not is_uri(where) and not declared_shared():
        raise StorageNotShared(
            f"storage root {where} is a local folder but the cluster has {alive_nodes} nodes: set --storage / "
            f"${ENV} to a URI every node reaches (s3://bucket/semiemo, gs://...), or declare the folder a shared "
            f"mount with --storage-shared / ${SHARED_ENV}=1")
