"""Bad input on the way to training: a misspelled label (`hapiness` beside `happiness`) is refused
with its row and the fix instead of becoming a class of its own; `corpora validate` finds empty and
unreadable audio files by a header probe, as `featurize` would."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from semiemo.commands.corpora_validate import add_commands
from semiemo.corpora import load_corpus
from semiemo.corpora.manifest import validate_manifest, write_manifest

LABELS = ["anger", "happiness", "neutral", "sadness"]


def _manifest(tmp_path, n=16, typo_row: int | None = 9) -> pd.DataFrame:
    (tmp_path / "audio").mkdir(exist_ok=True)
    rows = []
    for i in range(n):
        sf.write(tmp_path / "audio" / f"u{i}.wav", np.full(1600, 0.01, dtype="float32"), 16000)
        rows.append({"utt_id": f"u{i}", "corpus": "toy", "split_group": f"spk{i % 4}", "speaker": f"spk{i % 4}",
                     "domain": "acted", "labeled": True, "label": LABELS[i % 4], "path": f"audio/u{i}.wav"})
    if typo_row is not None:
        rows[typo_row]["label"] = "hapiness"
    return pd.DataFrame(rows)


def test_training_on_a_manifest_with_a_misspelled_label_is_refused_naming_row_and_fix(tmp_path):
    path = write_manifest(_manifest(tmp_path), tmp_path / "manifest.csv")
    with pytest.raises(ValueError) as e:
        load_corpus(str(path))
    message = str(e.value)
    print(f"\n{message}")
    assert "row 9 (utt_id 'u9')" in message and "'hapiness'" in message
    assert "looks like 'happiness'" in message and "correct it to 'happiness'" in message
    assert "{anger, happiness, neutral, sadness}" in message


def test_a_manifest_with_only_known_labels_loads(tmp_path):
    path = write_manifest(_manifest(tmp_path, typo_row=None), tmp_path / "manifest.csv")
    assert sorted(load_corpus(str(path))["label"].unique()) == LABELS


def test_distinct_but_similar_labels_of_equal_weight_are_not_typos(tmp_path):
    df = _manifest(tmp_path, typo_row=None)
    df["label"] = ["anger", "angry"] * 8      # two real classes of the same size: not a typo of one another
    assert validate_manifest(df, root=tmp_path) == []


def test_validate_finds_empty_and_unreadable_audio_by_header(tmp_path):
    df = _manifest(tmp_path, typo_row=None)
    (tmp_path / "audio" / "u3.wav").write_bytes(b"")                                   # 0 bytes
    (tmp_path / "audio" / "u5.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all")  # broken header
    sf.write(tmp_path / "audio" / "u7.wav", np.zeros((0,), dtype="float32"), 16000)    # a header, no frames
    path = write_manifest(df, tmp_path / "manifest.parquet")
    app = typer.Typer()
    corpora_app = typer.Typer()
    add_commands(corpora_app)
    app.add_typer(corpora_app, name="corpora")
    result = CliRunner().invoke(app, ["corpora", "validate", str(path)])
    print(f"\n{result.output}")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("row ")]
    assert [line.split(" ")[1] for line in lines] == ["3", "5", "7"]
    assert "empty (0 bytes)" in lines[0] and "unreadable audio header" in lines[1] and "0 frames" in lines[2]
    assert all("fix:" in line for line in lines)
    assert "3 problem(s) (bad_audio: 3)" in result.output
