"""Evaluation protocols: which manifest rows train, select (validation) and test each fold.

A `Fold` holds integer row positions into the manifest. `train_idx`, `val_idx` and `test_idx` hold
labeled rows only; `unlabeled_idx` is the fold's unlabeled pool. Protocols (sklearn splitters where
they fit):

- `kfold`          StratifiedKFold over labeled rows (paper 000's 5-fold on IVD).
- `loso`           leave-one-speaker-out: LeaveOneGroupOut over `cfg.group_column` (paper 000, IEMOCAP;
                   CASIA).
- `loso_session`   leave-one-session-out; the held-out session is split into validation and test by
                   gender, which gender goes to validation drawn at random per fold (paper 002 §IV-B:
                   "we randomly split the session into validation set and test set according to
                   gender"). `validation_fraction` is not used: validation is the other gender.
- `speaker_kfold`  5-fold speaker-independent: StratifiedGroupKFold over speakers (paper 004 §3.1.3).
- `fixed`          the manifest's `split` column: train / dev (also val, valid, validation) / test (MELD).
- `holdout`        one stratified split: `test_fraction` test, `validation_fraction` of the rest val.

Validation inside the training part (kfold, loso, speaker_kfold, holdout): for speaker-grouped
protocols, round(validation_fraction x training speakers) whole speakers are held out — when that is at
least one speaker and leaves one to train on; otherwise (too few speakers, e.g. CASIA's 3 training
speakers x 0.1) a stratified fraction of training rows is used, and the fold stays speaker-independent
between train and *test*. Stratified fractions take round(fraction x n_c) rows of each class from a
seeded permutation, so a smaller fraction is a subset of a larger one for the same seed (nested label
fraction curves) and tiny classes do not make sklearn's stratified splitter fail.

Unlabeled pool (`unlabeled_pool`): rows with labeled == False, minus rows whose group (speaker or
session) is held out for validation or test in a speaker-independent fold — otherwise the test
speaker's own voice would reach training (transductive leakage) — and, for `fixed`, minus unlabeled
rows of the dev/test splits. Optionally plus the fold's labeled training rows (methods such as MixMatch
also use labeled data without labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    LeaveOneGroupOut,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from semiemo.labels import labeled_mask


class ProtocolConfig(BaseModel):
    """How rows become folds (the fold makers below); validated at the edge, a misspelled key is an error."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["kfold", "loso", "loso_session", "speaker_kfold", "fixed", "holdout"] = "loso"
    folds: int = 5                       # kfold / speaker_kfold
    max_folds: int | None = None         # run only the first n folds (quick looks, sweeps)
    validation_fraction: float = 0.1     # of the training speakers/rows, for model selection
    group_column: str = "speaker"        # loso / speaker_kfold: the column no fold may share across train/test
    session_column: str = "session"      # loso_session (falls back to split_group when absent)
    test_fraction: float = 0.2           # holdout: stratified fraction of labeled rows for test
    test_domains: list[str] | None = None  # folds split only the labeled rows of these domains; labeled rows of
                                         # other domains join every fold's training rows (paper 000: 5-fold
                                         # over IVD, AVD always in training); None: all rows are split


_EMPTY = np.zeros(0, dtype=np.int64)
_DEV_NAMES = ("dev", "val", "valid", "validation")


@dataclass(eq=False)
class Fold:
    """One fold: row positions into the manifest (sorted int64 arrays)."""

    name: str
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    unlabeled_idx: np.ndarray = field(default_factory=lambda: _EMPTY.copy())
    group_column: str | None = None          # the column whose values are held out (None: row-wise)
    held_out_groups: tuple = ()              # values of group_column in validation/test
    # False when validation fell back to rows of training speakers (too few speakers to hold some out):
    # model selection is then speaker-dependent even though test is not. None: not a grouped protocol.
    validation_group_independent: bool | None = None

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train_idx),
            "val": len(self.val_idx),
            "test": len(self.test_idx),
            "unlabeled": len(self.unlabeled_idx),
        }


# -- public API ---------------------------------------------------------------------------------


def make_folds(
    manifest: pd.DataFrame, cfg: ProtocolConfig, seed: int, strata: np.ndarray | None = None
) -> list[Fold]:
    """The folds of `cfg.name` on `manifest` (see the module docstring), first `cfg.max_folds` only.

    `strata` ([N], optional) overrides the stratification target, e.g. binarized arousal; by default
    the `label` column of labeled rows (no stratification when it is absent or incomplete).
    """
    manifest = manifest.reset_index(drop=True)
    labeled_rows = np.flatnonzero(labeled_mask(manifest))
    if len(labeled_rows) == 0:
        raise ValueError("the manifest has no labeled rows: nothing to train or test on")
    y = _strata(manifest, strata)
    always_train = np.zeros(0, dtype=np.int64)
    if cfg.test_domains is not None:
        if "domain" not in manifest.columns:
            raise ValueError("protocol.test_domains needs a 'domain' column in the manifest")
        in_test = manifest["domain"].astype(str).isin(list(cfg.test_domains)).to_numpy()[labeled_rows]
        if not in_test.any():
            raise ValueError(f"protocol.test_domains {cfg.test_domains} matches no labeled row; the manifest's "
                             f"domains are {sorted(manifest['domain'].astype(str).unique())}")
        labeled_rows, always_train = labeled_rows[in_test], labeled_rows[~in_test]
    makers = {
        "kfold": _kfold,
        "loso": _loso,
        "loso_session": _loso_session,
        "speaker_kfold": _speaker_kfold,
        "fixed": _fixed,
        "holdout": _holdout,
    }
    if cfg.name not in makers:
        raise ValueError(f"unknown protocol {cfg.name!r}; allowed: {sorted(makers)}")
    folds = makers[cfg.name](manifest, labeled_rows, y, cfg, seed)
    if cfg.max_folds is not None:
        folds = folds[: cfg.max_folds]
    if len(always_train):
        folds = [replace(f, train_idx=np.union1d(f.train_idx, always_train).astype(np.int64)) for f in folds]
    return [replace(f, unlabeled_idx=unlabeled_pool(manifest, f)) for f in folds]


def unlabeled_pool(manifest: pd.DataFrame, fold: Fold, include_labeled_train: bool = False) -> np.ndarray:
    """Rows a fold may use without labels (see the module docstring for what is excluded and why)."""
    manifest = manifest.reset_index(drop=True)
    keep = ~labeled_mask(manifest)
    if fold.group_column is not None and fold.held_out_groups:
        keep &= ~manifest[fold.group_column].isin(list(fold.held_out_groups)).to_numpy()
    rows = np.flatnonzero(keep)
    if include_labeled_train:
        rows = np.union1d(rows, fold.train_idx)
    return rows.astype(np.int64)


def subsample_labeled(
    manifest: pd.DataFrame,
    idx: np.ndarray,
    fraction: float,
    seed: int,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """A stratified, seeded `fraction` of the labeled rows `idx` (paper 004: 25/50/75/100 %).

    Each class keeps round(fraction x its count) rows, at least one; fraction 1 returns `idx`.
    Smaller fractions are subsets of larger ones for the same seed.
    """
    idx = np.asarray(idx, dtype=np.int64)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    if fraction == 1.0:
        return idx.copy()
    y = _strata(manifest.reset_index(drop=True), strata)
    return _stratified_take(idx, None if y is None else y[idx], fraction, seed, min_per_class=1)


def subsample_unlabeled(idx: np.ndarray, quantity: int | None, seed: int) -> np.ndarray:
    """`quantity` rows of the unlabeled pool `idx` (None: all), seeded and nested across quantities.

    The rows are the first `quantity` of one seeded permutation of the pool, so for the same pool and
    seed a smaller quantity is a subset of a larger one (unlabeled-quantity curves, papers 000-002).
    """
    idx = np.asarray(idx, dtype=np.int64)
    if quantity is None:
        return idx.copy()
    if quantity < 0 or quantity > len(idx):
        raise ValueError(f"unlabeled quantity {quantity} is outside the pool's 0..{len(idx)} rows")
    order = np.random.default_rng([seed, 2]).permutation(len(idx))
    return np.sort(idx[order[:quantity]])


# -- protocol makers ----------------------------------------------------------------------------


def _kfold(manifest, rows, y, cfg, seed) -> list[Fold]:
    ys = None if y is None else y[rows]
    splitter = (
        KFold(cfg.folds, shuffle=True, random_state=seed)
        if ys is None
        else StratifiedKFold(cfg.folds, shuffle=True, random_state=seed)
    )
    folds = []
    for k, (tr, te) in enumerate(splitter.split(rows, ys)):
        train, val = _validation_split(rows[tr], y, None, cfg.validation_fraction, [seed, k])
        folds.append(Fold(f"kfold-{k}", train, val, _sorted(rows[te])))
    return folds


def _loso(manifest, rows, y, cfg, seed) -> list[Fold]:
    groups = _groups(manifest, rows, cfg.group_column)
    folds = []
    for k, (tr, te) in enumerate(LeaveOneGroupOut().split(rows, groups=groups)):
        test_group = groups[te[0]]
        folds.append(_grouped_fold(f"loso-{test_group}", manifest, rows[tr], rows[te], y, cfg, [seed, k]))
    return folds


def _speaker_kfold(manifest, rows, y, cfg, seed) -> list[Fold]:
    groups = _groups(manifest, rows, cfg.group_column)
    n_groups = len(np.unique(groups))
    if n_groups < cfg.folds:
        raise ValueError(
            f"speaker_kfold needs at least folds={cfg.folds} distinct {cfg.group_column!r} values among "
            f"labeled rows, found {n_groups}; lower protocol.folds or use protocol 'loso'"
        )
    ys = None if y is None else y[rows]
    splitter = (
        GroupKFold(cfg.folds, shuffle=True, random_state=seed)
        if ys is None
        else StratifiedGroupKFold(cfg.folds, shuffle=True, random_state=seed)
    )
    return [
        _grouped_fold(f"speaker_kfold-{k}", manifest, rows[tr], rows[te], y, cfg, [seed, k])
        for k, (tr, te) in enumerate(splitter.split(rows, ys, groups=groups))
    ]


def _loso_session(manifest, rows, y, cfg, seed) -> list[Fold]:
    column = cfg.session_column if cfg.session_column in manifest.columns else "split_group"
    sessions = _groups(manifest, rows, column)
    if "gender" not in manifest.columns:
        raise ValueError("loso_session splits the held-out session by gender, but the manifest has no 'gender' column")
    gender = manifest["gender"].to_numpy(dtype=object)
    folds = []
    for k, (tr, te) in enumerate(LeaveOneGroupOut().split(rows, groups=sessions)):
        session, held_out = sessions[te[0]], rows[te]
        missing = pd.isna(gender[held_out])
        if missing.any():
            row = int(held_out[np.flatnonzero(missing)[0]])
            raise ValueError(f"manifest row {row} of held-out session {session!r} has no gender; fill it")
        genders = sorted({str(g) for g in gender[held_out]})
        if len(genders) < 2:
            raise ValueError(
                f"session {session!r} has only gender {genders}: it cannot be split into validation and "
                "test by gender (paper 002); use protocol 'loso' instead"
            )
        val_gender = genders[np.random.default_rng([seed, k, 1]).integers(len(genders))]
        is_val = np.array([str(g) == val_gender for g in gender[held_out]])
        folds.append(
            Fold(
                f"session-{session}",
                _sorted(rows[tr]),
                _sorted(held_out[is_val]),
                _sorted(held_out[~is_val]),
                group_column=column,
                held_out_groups=(session,),
                validation_group_independent=True,
            )
        )
    return folds


def _fixed(manifest, rows, y, cfg, seed) -> list[Fold]:
    if "split" not in manifest.columns:
        raise ValueError("protocol 'fixed' reads the manifest's 'split' column (train/dev/test), which is missing")
    raw = manifest["split"].to_numpy(dtype=object)
    split = np.array([None if pd.isna(v) else str(v).lower() for v in raw], dtype=object)
    allowed = {"train", "test", *_DEV_NAMES}
    bad = [r for r in rows if split[r] not in allowed]
    if bad:
        raise ValueError(
            f"manifest row {bad[0]} has split {raw[bad[0]]!r}; labeled rows need one of {sorted(allowed)} "
            f"under protocol 'fixed' ({len(bad)} such rows)"
        )
    labeled_split = split[rows]
    held_out = tuple(sorted({v for v, s in zip(raw, split) if s == "test" or s in _DEV_NAMES}, key=str))
    return [
        Fold(
            "fixed",
            _sorted(rows[labeled_split == "train"]),
            _sorted(rows[np.isin(labeled_split, _DEV_NAMES)]),
            _sorted(rows[labeled_split == "test"]),
            group_column="split",
            held_out_groups=held_out,
        )
    ]


def _holdout(manifest, rows, y, cfg, seed) -> list[Fold]:
    test = _stratified_take(rows, None if y is None else y[rows], cfg.test_fraction, [seed, 3], min_per_class=0)
    rest = np.setdiff1d(rows, test)
    train, val = _validation_split(rest, y, None, cfg.validation_fraction, [seed, 4])
    return [Fold("holdout", train, val, test)]


# -- helpers ------------------------------------------------------------------------------------


def _grouped_fold(name, manifest, train_rows, test_rows, y, cfg, rng_seed) -> Fold:
    """A speaker-independent fold: validation by held-out training speakers where there are enough."""
    column = cfg.group_column
    train, val = _validation_split(
        train_rows, y, manifest[column].to_numpy(dtype=object), cfg.validation_fraction, rng_seed
    )
    groups = manifest[column].to_numpy(dtype=object)
    # Validation speakers are held out only when validation is speaker-independent; when it fell back to
    # a fraction of the training speakers' rows, those speakers still train (and their unlabeled rows stay).
    val_groups = set(groups[val]) - set(groups[train])
    held_out = tuple(sorted(set(groups[test_rows]) | val_groups, key=str))
    independent = not (set(groups[val]) & set(groups[train]))
    return Fold(name, train, val, _sorted(test_rows), group_column=column, held_out_groups=held_out,
                validation_group_independent=independent)


def _validation_split(rows, y, groups, fraction, rng_seed) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) from training rows: whole groups when enough of them, else a stratified fraction."""
    rows = np.asarray(rows, dtype=np.int64)
    if fraction <= 0.0:
        return _sorted(rows), _EMPTY.copy()
    if not fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction}")
    if groups is not None:
        uniq = np.array(sorted(set(groups[rows]), key=str), dtype=object)
        n_val = int(np.floor(fraction * len(uniq) + 0.5))
        if 1 <= n_val < len(uniq):
            chosen = np.random.default_rng(rng_seed).choice(len(uniq), size=n_val, replace=False)
            is_val = np.isin(groups[rows], uniq[chosen])
            return _sorted(rows[~is_val]), _sorted(rows[is_val])
    val = _stratified_take(rows, None if y is None else y[rows], fraction, rng_seed, min_per_class=0)
    return _sorted(np.setdiff1d(rows, val)), val


def _stratified_take(rows, y_rows, fraction, rng_seed, min_per_class: int) -> np.ndarray:
    """round(fraction x n_c) rows per class (y_rows None: one class), first of a seeded permutation."""
    rows = np.asarray(rows, dtype=np.int64)
    strata = np.zeros(len(rows), dtype=np.int64) if y_rows is None else pd.factorize(pd.Series(y_rows), sort=True)[0]
    rng = np.random.default_rng(rng_seed)
    order = rng.permutation(len(rows))  # one permutation, then per class in that order: nested by fraction
    taken = []
    for c in np.unique(strata):
        members = order[strata[order] == c]
        k = int(np.floor(fraction * len(members) + 0.5))
        k = min(len(members), max(min_per_class, k))
        taken.append(rows[members[:k]])
    return _sorted(np.concatenate(taken) if taken else _EMPTY)


def _strata(manifest: pd.DataFrame, strata: np.ndarray | None) -> np.ndarray | None:
    """Stratification target per row: `strata` if given, else labeled rows' `label`, else None."""
    if strata is not None:
        strata = np.asarray(strata)
        if len(strata) != len(manifest):
            raise ValueError(f"strata has {len(strata)} values for {len(manifest)} manifest rows")
        return strata
    if "label" not in manifest.columns:
        return None
    labeled = labeled_mask(manifest)
    if manifest["label"][labeled].isna().any():
        return None
    return manifest["label"].astype("string").fillna("<unlabeled>").to_numpy(dtype=object)


def _groups(manifest: pd.DataFrame, rows: np.ndarray, column: str) -> np.ndarray:
    if column not in manifest.columns:
        raise ValueError(f"the protocol groups by {column!r}, but the manifest has no such column")
    g = manifest[column].to_numpy(dtype=object)[rows]
    missing = pd.isna(g)
    if missing.any():
        row = int(rows[np.flatnonzero(missing)[0]])
        raise ValueError(f"manifest row {row} has no {column!r}: every labeled row needs one in this protocol")
    return g


def _sorted(a) -> np.ndarray:
    return np.sort(np.asarray(a, dtype=np.int64))
