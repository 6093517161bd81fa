"""Bring-your-own corpus: labels and speakers read from folder and file names.

A layout is either a template such as `{speaker}/{label}/{name}.wav` (a field may carry its own
pattern, `{speaker:\\d\\d}`; fields starting with `_` are matched and dropped) or a regular
expression with named groups matched against the path relative to the root (`/` separators).
RAVDESS- and EmoDB-like layouts need only a template/regex plus a `label_map` from their codes.
Audio files that do not match are reported, never silently dropped.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".mp4", ".opus", ".aac")

_FIELD = re.compile(r"\{(\w+)(?::([^{}]+))?\}")


@dataclass
class DirectoryScan:
    """What a scan found: the manifest of matching files and every audio file that did not match."""

    manifest: pd.DataFrame
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    ignored_non_audio: int = 0


def template_to_regex(template: str) -> re.Pattern[str]:
    """`{speaker}/{label}/{name}.wav` → an anchored regex with one named group per field.

    A field matches one path component (no `/`) unless it gives a pattern (`{speaker:\\d\\d}`);
    a field that repeats must hold the same value each time.
    """
    parts, seen, pos = [], set(), 0
    for m in _FIELD.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        name, pattern = m.group(1), m.group(2)
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>{pattern or '[^/]+?'})")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts) + r"\Z")


def scan_directory(
    root: str | os.PathLike,
    template: str | None = None,
    regex: str | None = None,
    corpus: str | None = None,
    domain: str = "acted",
    label_map: dict[str, str] | None = None,
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
) -> DirectoryScan:
    """Walk `root` and build a manifest row for every audio file whose relative path matches.

    Named fields become columns (`speaker`, `label`, `session`, `gender`, anything else as is);
    `label_map` translates label codes (EmoDB 'W' → 'anger'); split_group = speaker.
    """
    if (template is None) == (regex is None):
        raise ValueError("give exactly one of template= (e.g. '{speaker}/{label}/{name}.wav') or regex= (named groups)")
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    pattern = template_to_regex(template) if template is not None else re.compile(regex)
    groups = [g for g in pattern.groupindex if not g.startswith("_")]
    corpus = corpus or root.name
    label_map = label_map or {}

    rows, unmatched, ignored = [], [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            rel = full.relative_to(root).as_posix()
            if full.suffix.lower() not in extensions:
                ignored += 1
                continue
            m = pattern.fullmatch(rel)
            if m is None:
                unmatched.append((rel, f"does not match {template or regex!r}"))
                continue
            values = {g: m.group(g) for g in groups}
            if "label" in values and label_map:
                code = values["label"]
                if code not in label_map:
                    unmatched.append((rel, f"label code {code!r} is not in label_map {sorted(label_map)}"))
                    continue
                values["label_code"], values["label"] = code, label_map[code]
            rows.append({"rel": rel, "path": str(full), **values})

    df = pd.DataFrame(rows)
    if len(df):
        df.insert(0, "utt_id", corpus + "/" + df["rel"].str.replace(r"\.[^./]+$", "", regex=True))
        df = df.drop(columns="rel")
        df["corpus"] = corpus
        if "speaker" not in df.columns:
            df["speaker"] = "unknown"
            warnings.warn(f"{root}: the layout has no {{speaker}} field; every row gets speaker 'unknown', "
                          "so speaker-independent folds are impossible", stacklevel=2)
        df["split_group"] = df["speaker"]
        df["domain"] = domain
        df["labeled"] = df["label"].notna() if "label" in df.columns else False
    return DirectoryScan(manifest=df, unmatched=unmatched, ignored_non_audio=ignored)


def read_directory(root: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """`scan_directory(...).manifest`, warning with the unmatched files (also in `df.attrs`)."""
    scan = scan_directory(root, **kwargs)
    if scan.unmatched:
        shown = "; ".join(f"{p} ({why})" for p, why in scan.unmatched[:5])
        warnings.warn(f"{len(scan.unmatched)} audio file(s) under {root} were not imported: {shown}"
                      + (" ..." if len(scan.unmatched) > 5 else ""), stacklevel=2)
    scan.manifest.attrs["unmatched_files"] = scan.unmatched
    return scan.manifest
