"""The Ray Data featurization pipeline and the Parquet feature store, end to end on a local Ray.

The featurizers here are small but real (numpy RMS / zero-crossing / duration statistics), so the
pipeline is exercised independently of the opensmile / librosa / transformers featurizers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from semiemo.features import featurize, load_featureset
from semiemo.features.base import SAMPLE_RATE, FieldSpec
from semiemo.features.store import FeatureStore, StoreKey, store_key

pytestmark = pytest.mark.timeout(300)


# ------------------------------------------------------------------------------------------------
# featurizers used by the tests
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsConfig:
    eps: float = 1e-8  # part of the key: changing it must change the store entry


class SignalStats:
    """[rms, zero-crossing rate, duration in s] of each utterance."""

    name: ClassVar[str] = "signal_stats"
    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: StatsConfig = StatsConfig()):
        self.config = config

    def schema(self) -> dict[str, FieldSpec]:
        return {"signal_stats": FieldSpec((3,))}

    def __call__(self, batch):
        rows = []
        for audio in batch["audio"]:
            rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2) + self.config.eps)
            zcr = np.mean(np.signbit(audio[1:]) != np.signbit(audio[:-1]))
            rows.append([rms, zcr, len(audio) / SAMPLE_RATE])
        return {"signal_stats": np.asarray(rows, dtype=np.float32)}


class CrashingStats(SignalStats):
    """Same name and config as SignalStats (same store entry) but raises once a call budget is spent.

    The budget lives in a marker file shared by all Ray workers: each call appends one byte, and
    once the file holds more than `calls_before_crash` bytes every call raises. No marker: no crash.
    """

    def __init__(self, marker: str, calls_before_crash: int):
        super().__init__()
        self.marker, self.calls_before_crash = marker, calls_before_crash

    def __call__(self, batch):
        if os.path.exists(self.marker):
            with open(self.marker, "ab") as f:
                f.write(b"x")
            if os.path.getsize(self.marker) > self.calls_before_crash:
                raise RuntimeError("simulated crash: featurizer call budget spent")
        return super().__call__(batch)


class RejectsPoison(SignalStats):
    """Raises on rows whose utt_id contains 'poison': a featurizer failure confined to one row."""

    name: ClassVar[str] = "rejects_poison"

    def schema(self):
        return {"rejects_poison": FieldSpec((3,))}

    def __call__(self, batch):
        if any("poison" in u for u in batch["utt_id"]):
            raise ValueError("cannot featurize poison")
        return {"rejects_poison": super().__call__(batch)["signal_stats"]}


class ModelBackedStats(SignalStats):
    """Declares itself model-backed, so the pipeline serves it from an actor pool."""

    name: ClassVar[str] = "model_backed_stats"
    model_backed: ClassVar[bool] = True

    def schema(self):
        return {"model_backed_stats": FieldSpec((3,))}

    def __call__(self, batch):
        return {"model_backed_stats": super().__call__(batch)["signal_stats"]}


class SpeakerCode:
    """A featurizer that reads a manifest column and no audio."""

    name: ClassVar[str] = "speaker_code"
    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("speaker",)
    config = StatsConfig()

    def schema(self):
        return {"speaker_code": FieldSpec((), "int64")}

    def __call__(self, batch):
        return {"speaker_code": np.asarray([int(s[1:]) for s in batch["speaker"]], dtype=np.int64)}


# Ray workers cannot import this test module; ship its classes by value.
import ray.cloudpickle  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray

    init_ray(num_cpus=2)
    yield
    shutdown_ray()


def _row(utt_id: str, path: str | None, speaker: str = "s1") -> dict:
    return {"utt_id": utt_id, "corpus": "test", "split_group": speaker, "speaker": speaker,
            "domain": "acted", "labeled": True, "path": path}


def _tone(seconds: float, sr: int = SAMPLE_RATE, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clean_corpus(folder: Path, n: int) -> pd.DataFrame:
    """n clean 16 kHz files whose durations differ (row i lasts 0.2 + 0.01 i s), so rows are tellable apart."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        path = folder / f"u{i:03d}.wav"
        sf.write(path, _tone(0.2 + 0.01 * i), SAMPLE_RATE, subtype="PCM_16")
        rows.append(_row(f"u{i:03d}", str(path), speaker=f"s{i % 3}"))
    return pd.DataFrame(rows)


BAD_INPUTS = {
    # utt_id: (how the file is made, expected reason or flag)
    "corrupt": ("error", "corrupt_file"),
    "empty": ("error", "empty_file"),
    "zero_length": ("error", "zero_length"),
    "missing": ("error", "missing_file"),
    "too_short": ("error", "too_short"),
    "all_nan": ("error", "all_nonfinite"),
    "nan_inf": ("flag", "nonfinite_zeroed"),
    "rate_44k": ("flag", "resampled:44100"),
    "stereo": ("flag", "mixed_down:2ch"),
    "pcm_u8": ("ok", ""),
    "pcm_24": ("ok", ""),
    "pcm_32": ("ok", ""),
    "float32": ("ok", ""),
}


def bad_corpus(folder: Path) -> pd.DataFrame:
    folder.mkdir(parents=True, exist_ok=True)
    tone = _tone(0.5)
    paths = {k: folder / f"{k}.wav" for k in BAD_INPUTS}
    paths["corrupt"].write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 20)
    paths["empty"].write_bytes(b"")
    sf.write(paths["zero_length"], np.zeros(0, np.float32), SAMPLE_RATE, subtype="PCM_16")
    paths["missing"] = folder / "does_not_exist.wav"
    sf.write(paths["too_short"], _tone(0.03), SAMPLE_RATE, subtype="PCM_16")
    sf.write(paths["all_nan"], np.full(8000, np.nan, np.float32), SAMPLE_RATE, subtype="FLOAT")
    nan_inf = tone.copy()
    nan_inf[10], nan_inf[20] = np.nan, np.inf
    sf.write(paths["nan_inf"], nan_inf, SAMPLE_RATE, subtype="FLOAT")
    sf.write(paths["rate_44k"], _tone(0.5, sr=44_100), 44_100, subtype="PCM_16")
    sf.write(paths["stereo"], np.stack([tone, tone], axis=1), SAMPLE_RATE, subtype="PCM_16")
    sf.write(paths["pcm_u8"], tone, SAMPLE_RATE, subtype="PCM_U8")
    sf.write(paths["pcm_24"], tone, SAMPLE_RATE, subtype="PCM_24")
    sf.write(paths["pcm_32"], tone, SAMPLE_RATE, subtype="PCM_32")
    sf.write(paths["float32"], tone, SAMPLE_RATE, subtype="FLOAT")
    rows = [_row(k, str(paths[k])) for k in BAD_INPUTS]
    rows.append(_row("no_source", None))
    rows.append(_row("poison_row", str(paths["float32"])))
    rows.append(_row("clean", str(paths["float32"])))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    """One pipeline run over every bad-input kind; the tests below read its store entry."""
    tmp = tmp_path_factory.mktemp("bad")
    manifest = bad_corpus(tmp / "wav")
    root = str(tmp / "store")
    report = featurize(manifest, [SignalStats(), RejectsPoison()], store_root=root, block_size=4, progress=False)
    store = FeatureStore(root)
    stats = store.entry(store_key(report.manifest_hash, SignalStats()))
    poison = store.entry(store_key(report.manifest_hash, RejectsPoison()))
    return report, stats, poison


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("utt_id", [k for k, (kind, _) in BAD_INPUTS.items() if kind == "error"])
def test_unusable_audio_lands_in_errors_table_with_its_reason(bad_run, utt_id):
    _, stats, _ = bad_run
    errors = stats.read_errors().set_index("utt_id")
    assert errors.loc[utt_id, "reason"] == BAD_INPUTS[utt_id][1]
    assert errors.loc[utt_id, "stage"] == "audio"
    assert utt_id in errors.loc[utt_id, "detail"] or "audio" in errors.loc[utt_id, "detail"]


@pytest.mark.parametrize("utt_id", [k for k, (kind, _) in BAD_INPUTS.items() if kind == "flag"])
def test_repairable_audio_is_featurized_and_flagged(bad_run, utt_id):
    _, stats, _ = bad_run
    table = stats.read_table().to_pandas().set_index("utt_id")
    assert BAD_INPUTS[utt_id][1] in table.loc[utt_id, "flags"]
    assert np.isfinite(np.stack(table.loc[utt_id, "signal_stats"])).all()


@pytest.mark.parametrize("utt_id", ["pcm_u8", "pcm_24", "pcm_32", "float32", "rate_44k", "stereo"])
def test_every_sample_format_decodes_to_the_same_signal(bad_run, utt_id):
    _, stats, _ = bad_run
    lg = stats.load_groups([utt_id, "float32"])
    (rms, zcr, dur), (ref_rms, ref_zcr, ref_dur) = lg.fields["signal_stats"]
    assert dur == pytest.approx(ref_dur, abs=1e-3)
    assert rms == pytest.approx(ref_rms, rel=0.03)  # 8-bit quantisation is the coarsest
    assert zcr == pytest.approx(ref_zcr, abs=0.01)


def test_row_without_path_or_synth_config_is_an_error(bad_run):
    _, stats, _ = bad_run
    assert stats.read_errors().set_index("utt_id").loc["no_source", "reason"] == "no_audio_source"


def test_featurizer_failure_on_one_row_is_that_rows_error_only(bad_run):
    _, _, poison = bad_run
    errors = poison.read_errors().set_index("utt_id")
    assert errors.loc["poison_row", "reason"] == "featurizer_error:ValueError"
    assert errors.loc["poison_row", "stage"] == "rejects_poison"
    stored = set(poison.read_table(columns=["utt_id"]).column("utt_id").to_pylist())
    assert "clean" in stored and "poison_row" not in stored


def test_report_counts_ok_flagged_and_errors_per_reason(bad_run):
    report, stats, _ = bad_run
    counts = report.featurizers["signal_stats"]
    n_errors = sum(1 for kind, _ in BAD_INPUTS.values() if kind == "error") + 1  # + no_source
    assert counts.errors == n_errors
    assert counts.errors_by_reason["missing_file"] == 1
    assert counts.flagged == sum(1 for kind, _ in BAD_INPUTS.values() if kind == "flag")
    assert counts.ok + counts.errors == report.rows


# ------------------------------------------------------------------------------------------------
# resume
# ------------------------------------------------------------------------------------------------


def test_rerun_after_a_crash_computes_only_missing_blocks_and_stores_every_utt_id_once(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 24)
    root = str(tmp_path / "store")
    marker = tmp_path / "calls"
    marker.write_bytes(b"")
    from semiemo.features.pipeline import FeaturizerFailed

    with pytest.raises(FeaturizerFailed, match="simulated crash") as crashed:   # its own one line, not Ray's wrapper
        featurize(manifest, [CrashingStats(str(marker), calls_before_crash=2)], store_root=root,
                  block_size=4, batch_size=4, progress=False)
    assert "\n" not in str(crashed.value) and "finished blocks are kept" in str(crashed.value)
    entry = FeatureStore(root).entry(store_key(_mhash(manifest), SignalStats()))
    done_after_crash = entry.done_blocks()
    assert 0 < len(done_after_crash) < 6

    marker.unlink()
    report = featurize(manifest, [CrashingStats(str(marker), calls_before_crash=2)], store_root=root,
                       block_size=4, batch_size=4, progress=False)
    assert report.featurizers["signal_stats"].blocks_computed == 6 - len(done_after_crash)
    stored = entry.read_table(columns=["utt_id"]).column("utt_id").to_pylist()
    assert sorted(stored) == sorted(manifest["utt_id"])


def test_rerun_of_a_complete_entry_computes_nothing(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 6)
    root = str(tmp_path / "store")
    featurize(manifest, [SignalStats()], store_root=root, block_size=4, progress=False)
    again = featurize(manifest, [SignalStats()], store_root=root, block_size=4, progress=False)
    assert again.featurizers["signal_stats"].blocks_computed == 0
    assert again.featurizers["signal_stats"].ok == 6


def test_several_blocks_per_task_store_each_block_once_with_its_own_rows(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 40)
    root = str(tmp_path / "store")
    report = featurize(manifest, [SignalStats()], store_root=root, block_size=1, blocks_per_task=4, progress=False)
    entry = FeatureStore(root).entry(store_key(_mhash(manifest), SignalStats()))
    assert report.featurizers["signal_stats"].blocks_computed == 40 and len(entry.done_blocks()) == 40
    table = entry.read_table(columns=["utt_id", "signal_stats"]).to_pydict()
    duration = {u: v[2] for u, v in zip(table["utt_id"], table["signal_stats"])}
    assert len(table["utt_id"]) == 40
    assert duration == pytest.approx({f"u{i:03d}": 0.2 + 0.01 * i for i in range(40)}, abs=1e-4)


def test_blocks_per_task_shrinks_on_small_runs_so_every_slot_stays_busy():
    from semiemo.features.pipeline import _blocks_per_task

    assert _blocks_per_task(n_blocks=1954, slots=2, wanted=4) == 4   # a 500k-row run on 2 CPUs
    assert _blocks_per_task(n_blocks=16, slots=2, wanted=4) == 2     # at least 4 tasks per slot
    assert _blocks_per_task(n_blocks=6, slots=2, wanted=4) == 1
    assert _blocks_per_task(n_blocks=1954, slots=2, wanted=1) == 1


# ------------------------------------------------------------------------------------------------
# store keys
# ------------------------------------------------------------------------------------------------


def _mhash(manifest: pd.DataFrame) -> str:
    from semiemo.corpora.manifest import manifest_hash

    return manifest_hash(manifest)


def test_store_key_is_stable_for_an_equal_config():
    assert store_key("m", SignalStats(StatsConfig(eps=1e-8))) == store_key("m", SignalStats(StatsConfig(eps=1e-8)))


def test_store_key_changes_when_the_config_changes():
    assert store_key("m", SignalStats(StatsConfig(eps=1e-8))) != store_key("m", SignalStats(StatsConfig(eps=1e-6)))


def test_store_key_changes_when_the_manifest_changes(tmp_path):
    manifest = clean_corpus(tmp_path, 3)
    edited = manifest.assign(speaker=["s9", "s1", "s2"])
    assert store_key(_mhash(manifest), SignalStats()) != store_key(_mhash(edited), SignalStats())


def test_store_key_ignores_manifest_row_order(tmp_path):
    manifest = clean_corpus(tmp_path, 3)
    assert store_key(_mhash(manifest), SignalStats()) == store_key(_mhash(manifest.iloc[::-1]), SignalStats())


def test_store_key_round_trips_through_its_path():
    key = StoreKey("abc123", "is10_lld", "0123456789abcdef")
    assert StoreKey.parse(key.relpath) == key


# ------------------------------------------------------------------------------------------------
# store roots and loading
# ------------------------------------------------------------------------------------------------


def test_store_on_a_file_uri_holds_the_features(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 5)
    uri = (tmp_path / "uri_store").as_uri()
    assert uri.startswith("file://")
    fs = load_featureset(manifest, [SignalStats()], store_root=uri, progress=False)
    assert len(fs) == 5
    assert [e.key.featurizer for e in FeatureStore(uri).entries()] == ["signal_stats"]
    assert (tmp_path / "uri_store").is_dir()


def test_load_featureset_aligns_rows_with_the_manifest_order(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 12).sample(frac=1.0, random_state=3).reset_index(drop=True)
    fs = load_featureset(manifest, [SignalStats(), SpeakerCode()], store_root=str(tmp_path / "store"),
                         block_size=5, progress=False)
    expected_seconds = manifest["utt_id"].str[1:].astype(int) * 0.01 + 0.2
    np.testing.assert_allclose(fs.groups["signal_stats"][:, 2], expected_seconds, atol=1e-4)
    np.testing.assert_array_equal(fs.groups["speaker_code"], manifest["speaker"].str[1:].astype(int))
    assert list(fs.manifest["utt_id"]) == list(manifest["utt_id"])


def test_load_featureset_drops_failed_rows_and_counts_them(tmp_path):
    manifest = pd.concat([clean_corpus(tmp_path / "wav", 4), pd.DataFrame([_row("gone", str(tmp_path / "no.wav"))])])
    fs = load_featureset(manifest, [SignalStats()], store_root=str(tmp_path / "store"), progress=False)
    assert "gone" not in set(fs.manifest["utt_id"])
    assert len(fs) == 4 and fs.groups["signal_stats"].shape == (4, 3)
    assert fs.dropped == {"signal_stats:missing_file": 1}


def test_model_backed_featurizer_runs_in_an_actor_pool(tmp_path):
    manifest = clean_corpus(tmp_path / "wav", 6)
    fs = load_featureset(manifest, [ModelBackedStats()], store_root=str(tmp_path / "store"), block_size=3,
                         model_concurrency=1, progress=False)
    np.testing.assert_allclose(fs.groups["model_backed_stats"][:, 2], 0.2 + 0.01 * np.arange(6), atol=1e-4)


def test_synthetic_rows_are_rendered_on_the_worker(tmp_path):
    from semiemo.corpora.synthetic import SynthConfig, render_audio, synthesize_manifest

    cfg = SynthConfig(n_acted=3, n_wild_labeled=0, n_unlabeled=0, seed=0, visual_in_manifest=False)
    manifest = synthesize_manifest(cfg)
    assert "path" not in manifest.columns or manifest["path"].isna().all()
    fs = load_featureset(manifest, [SignalStats()], store_root=str(tmp_path / "store"), progress=False)
    seconds = [len(render_audio(cfg, int(i))) / SAMPLE_RATE for i in fs.manifest["synth_index"]]
    np.testing.assert_allclose(fs.groups["signal_stats"][:, 2], seconds, atol=1e-4)


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------


def _cli(*args: str) -> str:
    from typer.testing import CliRunner

    from semiemo.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_features_ls_lists_each_store_entry(bad_run):
    report, stats, poison = bad_run
    out = _cli("features", "ls", "--store", report.store_uri)
    assert stats.key.config_hash in out and poison.key.config_hash in out


def test_features_show_prints_schema_and_errors_by_reason(bad_run):
    report, stats, _ = bad_run
    out = _cli("features", "show", str(stats.key)[:24], "--store", report.store_uri)
    assert "signal_stats: shape (3,) float32" in out
    assert "error missing_file: 1" in out
