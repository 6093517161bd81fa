"""Protocols: speaker independence, the gender split of paper 002, stratification, subsampling."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from semiemo.labels import CASIA_LABEL_MAP
from semiemo.paths import casia_root
from semiemo.protocols import (
    make_folds,
    subsample_labeled,
    subsample_unlabeled,
    unlabeled_pool,
)
from semiemo.train.config import ProtocolConfig

CLASSES = ("anger", "happiness", "neutral", "sadness")


def _manifest(n_sessions: int = 5, per_speaker: int = 24, unlabeled_per_speaker: int = 5) -> pd.DataFrame:
    """IEMOCAP-shaped: sessions of one female and one male speaker, balanced labels, some unlabeled rows."""
    rows = []
    for s in range(1, n_sessions + 1):
        for gender in ("F", "M"):
            speaker = f"Ses0{s}{gender}"
            for i in range(per_speaker):
                rows.append(dict(speaker=speaker, session=f"Ses0{s}", gender=gender, labeled=True,
                                 label=CLASSES[i % len(CLASSES)]))
            for i in range(unlabeled_per_speaker):
                rows.append(dict(speaker=speaker, session=f"Ses0{s}", gender=gender, labeled=False, label=None))
    for i in range(20):  # an external unlabeled corpus (AMI-like): speakers never labeled
        rows.append(dict(speaker=f"ami{i % 4}", session=None, gender=None, labeled=False, label=None))
    df = pd.DataFrame(rows)
    df.insert(0, "utt_id", [f"u{i:04d}" for i in range(len(df))])
    df["corpus"] = "toy"
    df["split_group"] = df["speaker"]
    df["domain"] = "acted"
    return df


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    return _manifest()


def _values(manifest: pd.DataFrame, idx: np.ndarray, column: str) -> set:
    return set(manifest[column].to_numpy(dtype=object)[idx])


# -- speaker independence -----------------------------------------------------------------------


def test_loso_never_puts_a_speaker_in_both_train_and_test(manifest):
    folds = make_folds(manifest, ProtocolConfig(name="loso"), seed=0)
    for fold in folds:
        assert not _values(manifest, fold.train_idx, "speaker") & _values(manifest, fold.test_idx, "speaker")
        assert len(_values(manifest, fold.test_idx, "speaker")) == 1


def test_loso_tests_every_labeled_row_exactly_once(manifest):
    folds = make_folds(manifest, ProtocolConfig(name="loso"), seed=0)
    tested = np.concatenate([f.test_idx for f in folds])
    assert len(folds) == 10
    assert sorted(tested) == sorted(np.flatnonzero(manifest["labeled"].to_numpy()))


def test_speaker_kfold_never_puts_a_speaker_in_both_train_and_test(manifest):
    folds = make_folds(manifest, ProtocolConfig(name="speaker_kfold", folds=5), seed=0)
    assert len(folds) == 5
    for fold in folds:
        assert not _values(manifest, fold.train_idx, "speaker") & _values(manifest, fold.test_idx, "speaker")
        assert not _values(manifest, fold.train_idx, "speaker") & _values(manifest, fold.val_idx, "speaker")


def test_speaker_kfold_with_fewer_speakers_than_folds_is_an_error():
    small = _manifest(n_sessions=2)
    with pytest.raises(ValueError, match="at least folds=5"):
        make_folds(small, ProtocolConfig(name="speaker_kfold", folds=5), seed=0)


def test_loso_session_never_puts_a_session_or_speaker_in_both_train_and_test(manifest):
    folds = make_folds(manifest, ProtocolConfig(name="loso_session"), seed=0)
    assert [f.name for f in folds] == [f"session-Ses0{s}" for s in range(1, 6)]
    for fold in folds:
        for column in ("session", "speaker"):
            held = _values(manifest, fold.val_idx, column) | _values(manifest, fold.test_idx, column)
            assert not _values(manifest, fold.train_idx, column) & held


def test_loso_session_splits_the_held_out_session_into_val_and_test_by_gender(manifest):
    for fold in make_folds(manifest, ProtocolConfig(name="loso_session"), seed=0):
        val_genders = _values(manifest, fold.val_idx, "gender")
        test_genders = _values(manifest, fold.test_idx, "gender")
        assert len(val_genders) == 1 and len(test_genders) == 1 and val_genders != test_genders
        session = fold.name.removeprefix("session-")
        session_rows = np.flatnonzero((manifest["session"] == session) & manifest["labeled"])
        assert sorted(np.concatenate([fold.val_idx, fold.test_idx])) == sorted(session_rows)


def test_loso_session_draws_the_validation_gender_at_random_per_fold(manifest):
    def val_genders(seed):
        folds = make_folds(manifest, ProtocolConfig(name="loso_session"), seed=seed)
        return tuple(manifest["gender"].to_numpy()[f.val_idx[0]] for f in folds)

    assert val_genders(0) == val_genders(0)
    assert len({g for seed in range(4) for g in val_genders(seed)}) == 2


def test_loso_session_rejects_a_session_with_one_gender(manifest):
    one_gender = manifest.copy()
    one_gender.loc[one_gender["session"] == "Ses03", "gender"] = "F"
    with pytest.raises(ValueError, match="'Ses03' has only gender"):
        make_folds(one_gender, ProtocolConfig(name="loso_session"), seed=0)


# -- validation inside training ----------------------------------------------------------------


def test_loso_validation_holds_out_whole_training_speakers_when_there_are_enough(manifest):
    fold = make_folds(manifest, ProtocolConfig(name="loso", validation_fraction=0.2), seed=0)[0]
    val_speakers = _values(manifest, fold.val_idx, "speaker")
    assert len(val_speakers) == 2  # round(0.2 x 9 training speakers)
    assert not val_speakers & _values(manifest, fold.train_idx, "speaker")
    assert not val_speakers & _values(manifest, fold.test_idx, "speaker")


def test_loso_validation_falls_back_to_a_stratified_row_fraction_with_few_speakers():
    casia_like = _manifest(n_sessions=2, per_speaker=40)  # 4 speakers: 3 train x 0.1 < one speaker
    fold = make_folds(casia_like, ProtocolConfig(name="loso", validation_fraction=0.1), seed=0)[0]
    assert len(_values(casia_like, fold.val_idx, "speaker")) == 3  # rows from every training speaker
    assert Counter(casia_like["label"].to_numpy()[fold.val_idx]) == {c: 3 for c in CLASSES}
    assert not set(fold.val_idx) & set(fold.train_idx)


# -- stratification, determinism, shape --------------------------------------------------------


def test_kfold_test_folds_are_stratified(manifest):
    for fold in make_folds(manifest, ProtocolConfig(name="kfold", folds=5), seed=0):
        assert Counter(manifest["label"].to_numpy()[fold.test_idx]) == {c: 12 for c in CLASSES}


def test_folds_are_deterministic_for_a_seed_and_change_with_the_seed(manifest):
    cfg = ProtocolConfig(name="kfold", folds=5)
    a, b, c = (make_folds(manifest, cfg, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(x.test_idx, y.test_idx) for x, y in zip(a, b))
    assert not all(np.array_equal(x.test_idx, y.test_idx) for x, y in zip(a, c))


@pytest.mark.parametrize("name", ["kfold", "loso", "loso_session", "speaker_kfold", "holdout"])
def test_unlabeled_rows_are_never_in_train_validation_or_test(manifest, name):
    labeled = set(np.flatnonzero(manifest["labeled"].to_numpy()))
    for fold in make_folds(manifest, ProtocolConfig(name=name), seed=0):
        assert set(fold.train_idx) | set(fold.val_idx) | set(fold.test_idx) <= labeled
        assert not set(fold.train_idx) & set(fold.test_idx)
        assert not set(fold.val_idx) & set(fold.test_idx)
        assert not set(fold.unlabeled_idx) & labeled


def test_unlabeled_pool_excludes_rows_of_held_out_speakers(manifest):
    fold = make_folds(manifest, ProtocolConfig(name="loso", validation_fraction=0.2), seed=0)[0]
    held_out = _values(manifest, fold.val_idx, "speaker") | _values(manifest, fold.test_idx, "speaker")
    pool_speakers = _values(manifest, fold.unlabeled_idx, "speaker")
    assert not pool_speakers & held_out
    assert {"ami0", "ami1"} <= pool_speakers
    assert len(fold.unlabeled_idx) == (10 - 3) * 5 + 20


def test_unlabeled_pool_can_add_the_labeled_training_rows(manifest):
    fold = make_folds(manifest, ProtocolConfig(name="loso"), seed=0)[0]
    pool = unlabeled_pool(manifest, fold, include_labeled_train=True)
    assert set(fold.train_idx) <= set(pool) and set(fold.unlabeled_idx) <= set(pool)


def test_kfold_unlabeled_pool_is_every_unlabeled_row(manifest):
    fold = make_folds(manifest, ProtocolConfig(name="kfold"), seed=0)[0]
    assert len(fold.unlabeled_idx) == int((~manifest["labeled"]).sum())


def test_max_folds_keeps_only_the_first_folds(manifest):
    folds = make_folds(manifest, ProtocolConfig(name="loso", max_folds=2), seed=0)
    assert [f.name for f in folds] == ["loso-Ses01F", "loso-Ses01M"]


def test_holdout_is_one_stratified_fold_of_the_requested_sizes(manifest):
    (fold,) = make_folds(manifest, ProtocolConfig(name="holdout", test_fraction=0.25, validation_fraction=0.2), seed=0)
    assert Counter(manifest["label"].to_numpy()[fold.test_idx]) == {c: 15 for c in CLASSES}
    assert fold.sizes()["val"] == 4 * 9 and fold.sizes()["train"] == 240 - 60 - 36


# -- fixed splits (MELD) -----------------------------------------------------------------------


def test_fixed_protocol_reads_train_dev_test_from_the_split_column(manifest):
    m = manifest.copy()
    m["split"] = np.where(m["session"] == "Ses05", "test", np.where(m["session"] == "Ses04", "dev", "train"))
    m.loc[m["speaker"].str.startswith("ami"), "split"] = None
    (fold,) = make_folds(m, ProtocolConfig(name="fixed"), seed=0)
    assert _values(m, fold.test_idx, "session") == {"Ses05"}
    assert _values(m, fold.val_idx, "session") == {"Ses04"}
    assert _values(m, fold.train_idx, "session") == {"Ses01", "Ses02", "Ses03"}
    assert not _values(m, fold.unlabeled_idx, "split") & {"dev", "test"}
    assert len(fold.unlabeled_idx) == 3 * 2 * 5 + 20


def test_fixed_protocol_rejects_an_unknown_split_name(manifest):
    m = manifest.copy()
    m["split"] = "train"
    m.loc[3, "split"] = "holdout"
    with pytest.raises(ValueError, match="row 3 has split 'holdout'"):
        make_folds(m, ProtocolConfig(name="fixed"), seed=0)


# -- subsampling ------------------------------------------------------------------------------


def _train_idx(manifest):
    return make_folds(manifest, ProtocolConfig(name="kfold", validation_fraction=0.0), seed=0)[0].train_idx


def test_full_label_fraction_returns_every_training_row(manifest):
    idx = _train_idx(manifest)
    assert np.array_equal(subsample_labeled(manifest, idx, 1.0, seed=0), idx)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.75])
def test_label_fraction_is_stratified(manifest, fraction):
    idx = _train_idx(manifest)  # 48 rows per class
    sub = subsample_labeled(manifest, idx, fraction, seed=0)
    assert Counter(manifest["label"].to_numpy()[sub]) == {c: round(48 * fraction) for c in CLASSES}
    assert set(sub) <= set(idx)


def test_label_fraction_is_deterministic_for_a_seed_and_changes_with_it(manifest):
    idx = _train_idx(manifest)
    a, b, c = (subsample_labeled(manifest, idx, 0.25, seed=s) for s in (3, 3, 4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_label_fractions_are_nested_for_a_seed(manifest):
    idx = _train_idx(manifest)
    subs = [set(subsample_labeled(manifest, idx, f, seed=0)) for f in (0.25, 0.5, 0.75)]
    assert subs[0] <= subs[1] <= subs[2]


def test_label_fraction_keeps_at_least_one_row_of_every_class(manifest):
    idx = _train_idx(manifest)
    sub = subsample_labeled(manifest, idx, 0.001, seed=0)
    assert Counter(manifest["label"].to_numpy()[sub]) == {c: 1 for c in CLASSES}


def test_unlabeled_quantities_are_nested_for_a_seed():
    pool = np.arange(1000, 3000)
    subs = [set(subsample_unlabeled(pool, q, seed=7)) for q in (0, 500, 1000, 2000)]
    assert [len(s) for s in subs] == [0, 500, 1000, 2000]
    assert subs[0] <= subs[1] <= subs[2] <= subs[3] == set(pool)


def test_unlabeled_quantity_none_returns_the_whole_pool_and_too_many_is_an_error():
    pool = np.arange(10)
    assert np.array_equal(subsample_unlabeled(pool, None, seed=0), pool)
    with pytest.raises(ValueError, match="outside the pool's 0..10 rows"):
        subsample_unlabeled(pool, 11, seed=0)


# -- the real corpus -------------------------------------------------------------------------


def test_casia_loso_folds_are_speaker_independent():
    root = casia_root()
    if not root.is_dir():
        pytest.skip(f"CASIA not found at {root} (set SEMIEMO_CASIA)")
    wavs = sorted(root.glob("*/*/*.wav"))
    m = pd.DataFrame(
        dict(
            utt_id=[f"{w.parent.parent.name}/{w.parent.name}/{w.stem}" for w in wavs],
            speaker=[w.parent.parent.name for w in wavs],
            label=[CASIA_LABEL_MAP[w.parent.name] for w in wavs],
            labeled=True,
        )
    )
    folds = make_folds(m, ProtocolConfig(name="loso"), seed=0)
    assert len(folds) == 4 and sum(len(f.test_idx) for f in folds) == len(m) == 1200
    for fold in folds:
        assert not _values(m, fold.train_idx, "speaker") & _values(m, fold.test_idx, "speaker")
        assert len(fold.val_idx) > 0 and not set(fold.val_idx) & set(fold.train_idx)


def test_row_level_validation_does_not_hold_out_training_speakers():
    """Too few speakers for speaker-held-out validation: validation rows come from training speakers,
    which must stay in training and keep their unlabeled rows in the pool."""
    import pandas as pd

    from semiemo.protocols import make_folds
    from semiemo.train.config import ProtocolConfig

    rows = []
    for spk in ("a", "b", "c", "d"):
        for i in range(30):
            rows.append({"utt_id": f"{spk}{i}", "speaker": spk, "split_group": spk, "corpus": "t", "domain": "acted",
                         "labeled": i < 20, "label": ["x", "y"][i % 2] if i < 20 else None})
    manifest = pd.DataFrame(rows)
    for fold in make_folds(manifest, ProtocolConfig(name="loso", validation_fraction=0.1), 0):
        test_speaker = manifest.loc[fold.test_idx, "speaker"].unique().tolist()
        assert list(fold.held_out_groups) == test_speaker
        pool_speakers = set(manifest.loc[fold.unlabeled_idx, "speaker"])
        assert pool_speakers == {"a", "b", "c", "d"} - set(test_speaker)
