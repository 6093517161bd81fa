"""Corpora: the manifest contract, its validation, and one adapter per corpus format.

`load_corpus(spec)` turns a short string into a manifest DataFrame:

    synthetic                                   the default small demo corpus
    synthetic:acted=270,wild_labeled=300,seed=0 SynthConfig fields (a misspelled key names the allowed ones)
    clusters[:classes=6,dims=20,...]            Gaussian class clusters, the SSL positive control (no audio)
    casia  |  casia:/path/to/casia              CASIA 1,200 (default: semiemo.paths.casia_root())
    iemocap:/path/to/IEMOCAP_full_release       IEMOCAP release layout
    meld:/path/to/MELD.Raw                      MELD CSVs + media
    dir:/path?template={speaker}/{label}/{name}.wav[&corpus=x&domain=acted&label_map=W:anger;F:happiness]
    dir:/path?regex=(?P<speaker>\\d\\d)...\\.wav  (regex instead of template)
    table:/path/t.csv?map=path=file_path,label=emotion[&corpus=x&domain=wild]
    /path/manifest.parquet | /path/m.csv | /folder/with/manifest.parquet
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from semiemo.corpora.manifest import (
    MANIFEST_FILENAME,
    Problem,
    manifest_hash,
    read_manifest,
    validate_manifest,
    write_manifest,
)

CORPUS_KINDS: tuple[str, ...] = ("synthetic", "clusters", "casia", "iemocap", "meld", "dir", "table")

__all__ = [
    "CORPUS_KINDS", "Problem", "load_corpus", "manifest_hash", "parse_synthetic_spec",
    "read_manifest", "validate_manifest", "write_manifest",
]


def load_corpus(spec: str) -> pd.DataFrame:
    """A manifest from a corpus spec (grammar in this module's docstring)."""
    kind, _, rest = spec.partition(":")
    if kind not in CORPUS_KINDS:
        return _load_manifest_path(spec)
    if kind == "synthetic":
        from semiemo.corpora.synthetic import synthesize_manifest

        return synthesize_manifest(parse_synthetic_spec(rest))
    if kind == "clusters":
        from semiemo.corpora.synthetic.clusters import cluster_manifest, parse_cluster_spec

        return cluster_manifest(parse_cluster_spec(rest))
    if kind == "casia":
        from semiemo.corpora.casia import read_casia

        return read_casia(rest or None)
    if not rest:
        raise ValueError(f"corpus spec {spec!r} needs a path: '{kind}:/path/to/{kind}'")
    if kind == "iemocap":
        from semiemo.corpora.iemocap import read_iemocap

        return read_iemocap(rest)
    if kind == "meld":
        from semiemo.corpora.meld import read_meld

        return read_meld(rest)
    path, query = _split_query(rest)
    if kind == "dir":
        from semiemo.corpora.directory import read_directory

        allowed = {"template", "regex", "corpus", "domain", "label_map"}
        _check_keys(query, allowed, spec)
        if "label_map" in query:
            query["label_map"] = parse_label_map(query["label_map"])
        return read_directory(path, **query)
    from semiemo.corpora.table import read_table

    _check_keys(query, {"map", "corpus", "domain"}, spec)
    from semiemo.corpora.label_check import refuse_misspelled_labels

    manifest = read_table(path, mapping=query.pop("map", None), **query)
    refuse_misspelled_labels(manifest, spec)
    return manifest


def _load_manifest_path(spec: str) -> pd.DataFrame:
    p = Path(spec).expanduser()
    if p.is_dir() and not (p / MANIFEST_FILENAME).exists():
        raise FileNotFoundError(f"{p} holds no {MANIFEST_FILENAME}; for a folder of audio use "
                                f"'dir:{p}?template={{speaker}}/{{label}}/{{name}}.wav'")
    if not p.exists():
        raise ValueError(f"unknown corpus spec {spec!r}: use one of {', '.join(CORPUS_KINDS)} "
                         "(e.g. 'synthetic', 'casia', 'iemocap:/path') or an existing manifest .parquet/.csv/folder")
    manifest = read_manifest(p)
    from semiemo.corpora.label_check import refuse_misspelled_labels

    refuse_misspelled_labels(manifest, str(p))  # `hapiness` beside `happiness` would train a class of its own
    return manifest


def _split_query(rest: str) -> tuple[str, dict[str, str]]:
    """'path?key=value&key2=v2' → (path, {...}); values are not URL-decoded (regexes stay intact)."""
    path, _, query = rest.partition("?")
    items: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        if not eq:
            raise ValueError(f"bad option {part!r} in {rest!r}: write key=value")
        items[key] = value
    return path, items


def _check_keys(query: dict[str, str], allowed: set[str], spec: str) -> None:
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} in corpus spec {spec!r}; allowed: {sorted(allowed)}")


def parse_label_map(text: str) -> dict[str, str]:
    """'W:anger;F:happiness' (or ',' separated) → {'W': 'anger', 'F': 'happiness'}."""
    out = {}
    for item in filter(None, (s.strip() for s in text.replace(",", ";").split(";"))):
        code, sep, name = item.partition(":")
        if not sep:
            raise ValueError(f"bad label_map entry {item!r}: write code:label, e.g. 'W:anger;F:happiness'")
        out[code.strip()] = name.strip()
    return out


# Short spec keys for the corpus sizes: 'synthetic:acted=270,wild_labeled=300,unlabeled=2000'.
SYNTHETIC_COUNT_ALIASES: dict[str, str] = {"acted": "n_acted", "wild_labeled": "n_wild_labeled",
                                           "unlabeled": "n_unlabeled"}


def parse_synthetic_spec(text: str):
    """'acted=270,seed=0' → SynthConfig(n_acted=270, seed=0); a misspelled key names the allowed ones.

    Values are JSON scalars; 'a;b;c' is a list (emotions=anger;neutral;sadness); 'preset=NAME' starts
    from a named preset of nested options (corpora.synthetic.presets, e.g. paper 003's cmkt_chsims).
    """
    from semiemo.corpora.synthetic import SynthConfig

    kwargs: dict[str, object] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"bad synthetic option {item!r}: write key=value, e.g. 'synthetic:acted=270,seed=0'")
        key, value = key.strip(), value.strip()
        parsed = [_parse_scalar(v) for v in value.split(";") if v] if ";" in value else _parse_scalar(value)
        kwargs[SYNTHETIC_COUNT_ALIASES.get(key, key) if isinstance(parsed, int) else key] = parsed
    if "preset" in kwargs:  # named nested options (corpora.synthetic.presets), overridable key by key
        from semiemo.corpora.synthetic.presets import preset

        kwargs = {**preset(str(kwargs.pop("preset"))), **kwargs}
    allowed = sorted(set(SynthConfig.model_fields) | set(SYNTHETIC_COUNT_ALIASES) | {"preset"})
    unknown = sorted(set(kwargs) - set(SynthConfig.model_fields))
    if unknown:
        raise ValueError(f"unknown synthetic option(s) {unknown}; allowed: {', '.join(allowed)}")
    return SynthConfig(**kwargs)


def _parse_scalar(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value
