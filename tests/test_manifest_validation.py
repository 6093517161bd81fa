"""Manifest validation: each bad-input kind is named by row, column and fix; nothing stops at the first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from semiemo.commands.corpora_validate import add_commands
from semiemo.corpora.manifest import manifest_hash, read_manifest, validate_manifest, write_manifest

LABELS = ["anger", "neutral", "sadness"]


def _good(tmp_path, n=4) -> pd.DataFrame:
    """A valid manifest of `n` tiny wavs under tmp_path/audio, paths relative to tmp_path."""
    (tmp_path / "audio").mkdir(exist_ok=True)
    rows = []
    for i in range(n):
        sf.write(tmp_path / "audio" / f"u{i}.wav", np.zeros(160, dtype="float32"), 16000)
        rows.append({
            "utt_id": f"u{i}", "corpus": "toy", "split_group": f"spk{i % 2}", "speaker": f"spk{i % 2}",
            "domain": "acted", "labeled": True, "label": LABELS[i % 3], "path": f"audio/u{i}.wav",
            "text": "你好 world",
        })
    return pd.DataFrame(rows)


def _kinds(problems):
    return [p.kind for p in problems]


def test_valid_manifest_has_no_problems(tmp_path):
    assert validate_manifest(_good(tmp_path), root=tmp_path, label_set=LABELS) == []


def test_missing_required_column_is_named(tmp_path):
    problems = validate_manifest(_good(tmp_path).drop(columns="speaker"), root=tmp_path)
    assert [(p.kind, p.column, p.row) for p in problems] == [("missing_column", "speaker", None)]
    assert "speaker" in problems[0].fix


def test_duplicate_utt_id_names_both_rows(tmp_path):
    df = _good(tmp_path)
    df.loc[3, "utt_id"] = "u1"
    problems = validate_manifest(df, root=tmp_path)
    assert _kinds(problems) == ["duplicate_utt_id"]
    assert problems[0].row == 3 and problems[0].utt_id == "u1" and "row 1" in problems[0].message


def test_unknown_label_for_declared_label_set(tmp_path):
    df = _good(tmp_path)
    df.loc[2, "label"] = "happy"
    problems = validate_manifest(df, root=tmp_path, label_set=LABELS)
    assert [(p.kind, p.row, p.column) for p in problems] == [("unknown_label", 2, "label")]
    assert "'happy'" in problems[0].message and "anger, neutral, sadness" in problems[0].fix


def test_missing_audio_file(tmp_path):
    df = _good(tmp_path)
    (tmp_path / "audio" / "u2.wav").unlink()
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row, p.utt_id) for p in problems] == [("missing_audio", 2, "u2")]
    assert "u2.wav" in problems[0].message


def test_audio_in_a_missing_folder_is_reported(tmp_path):
    df = _good(tmp_path)
    df.loc[0, "path"] = "nowhere/u0.wav"
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row) for p in problems] == [("missing_audio", 0)]
    assert "folder does not exist" in problems[0].message


def test_synthetic_rows_need_no_path(tmp_path):
    df = _good(tmp_path)
    df["synth_config"] = None
    df.loc[1, "path"] = None
    df.loc[1, "synth_config"] = '{"seed": 0}'
    df.loc[2, "path"] = None  # neither path nor synth_config
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row) for p in problems] == [("missing_audio", 2)]


def test_gb18030_bytes_are_reported_with_the_codec(tmp_path):
    df = _good(tmp_path)
    df["text"] = df["text"].astype(object)
    df.at[1, "text"] = "就是下雨也去".encode("gb18030")
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row, p.column) for p in problems] == [("text_encoding", 1, "text")]
    assert "GB18030" in problems[0].fix


def test_gb18030_mojibake_string_is_reported(tmp_path):
    df = _good(tmp_path)
    df.loc[2, "text"] = "就是下雨也去".encode("gb18030").decode("latin-1")
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row) for p in problems] == [("text_encoding", 2)]
    assert "GB18030" in problems[0].fix and "就是下雨也去" in problems[0].message


def test_replacement_characters_are_reported(tmp_path):
    df = _good(tmp_path)
    df.loc[0, "text"] = "就是下雨也去".encode("gb18030").decode("utf-8", errors="replace")
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row) for p in problems] == [("text_encoding", 0)]
    assert "U+FFFD" in problems[0].message


def test_latin1_text_that_is_really_latin1_is_not_flagged(tmp_path):
    df = _good(tmp_path)
    df.loc[0, "text"] = "Über café, naïve déjà vu"
    assert validate_manifest(df, root=tmp_path) == []


def test_non_utf8_csv_is_read_and_the_row_is_named(tmp_path):
    df = _good(tmp_path)
    df.to_csv(tmp_path / "m.csv", index=False, encoding="gb18030")
    with pytest.warns(UserWarning, match="not valid UTF-8"):
        back = read_manifest(tmp_path / "m.csv")
    problems = validate_manifest(back, root=tmp_path)
    assert [p.row for p in problems] == [0, 1, 2, 3]
    assert all(p.kind == "text_encoding" and "GB18030" in p.fix for p in problems)


def test_empty_split_group(tmp_path):
    df = _good(tmp_path)
    df.loc[1, "split_group"] = "  "
    df.loc[3, "split_group"] = None
    problems = validate_manifest(df, root=tmp_path)
    assert [(p.kind, p.row) for p in problems] == [("empty_split_group", 1), ("empty_split_group", 3)]


def test_validation_does_not_stop_at_the_first_problem(tmp_path):
    df = _good(tmp_path, n=12).drop(columns="domain")
    df.loc[1, "utt_id"] = "u0"
    df.loc[2, "label"] = "joy"
    df.loc[3, "path"] = "audio/missing.wav"
    df.loc[4, "text"] = "就是".encode("gb18030").decode("latin-1")
    df.loc[5, "split_group"] = ""
    df.loc[6, "label"] = "fear"
    df.loc[7, "split_group"] = None
    problems = validate_manifest(df, root=tmp_path, label_set=LABELS)
    assert sorted(_kinds(problems)) == sorted([
        "missing_column", "duplicate_utt_id", "unknown_label", "unknown_label", "missing_audio",
        "text_encoding", "empty_split_group", "empty_split_group"])


def test_parquet_round_trip_keeps_the_hash(tmp_path):
    df = _good(tmp_path)
    df["votes"] = [["anger", "anger", "neutral"]] * len(df)
    write_manifest(df, tmp_path / "manifest.parquet")
    back = read_manifest(tmp_path)
    assert back["votes"].map(list).tolist() == df["votes"].tolist()
    assert manifest_hash(back) == manifest_hash(df)


def test_hash_ignores_row_and_column_order_but_not_values(tmp_path):
    df = _good(tmp_path)
    shuffled = df.iloc[[2, 0, 3, 1]][list(reversed(df.columns))]
    assert manifest_hash(shuffled) == manifest_hash(df)
    changed = df.copy()
    changed.loc[0, "label"] = "sadness"
    assert manifest_hash(changed) != manifest_hash(df)


@pytest.fixture
def cli():
    app = typer.Typer()
    corpora = typer.Typer()
    add_commands(corpora)
    app.add_typer(corpora, name="corpora")
    return app


def test_cli_exit_code_is_0_for_a_clean_manifest(tmp_path, cli):
    write_manifest(_good(tmp_path), tmp_path / "manifest.parquet")
    result = CliRunner().invoke(cli, ["corpora", "validate", str(tmp_path), "--labels", ",".join(LABELS)])
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


def test_cli_names_row_and_fix_and_exits_1(tmp_path, cli):
    df = _good(tmp_path)
    df.loc[2, "label"] = "happy"
    df.loc[3, "split_group"] = ""
    write_manifest(df, tmp_path / "manifest.parquet")
    result = CliRunner().invoke(cli, ["corpora", "validate", str(tmp_path / "manifest.parquet"),
                                      "--labels", ",".join(LABELS)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    label_line = next(line for line in lines if "unknown label" in line)
    assert "row 2" in label_line and "'u2'" in label_line and "fix:" in label_line
    assert any("row 3" in line and "split_group" in line and "fix:" in line for line in lines)
    assert "2 problem(s)" in result.output


def test_hash_of_nested_numeric_lists_survives_parquet(tmp_path):
    df = _good(tmp_path)
    rng = np.random.default_rng(0)
    df["face_features"] = [rng.normal(size=(3, 5)).astype("float32") for _ in range(len(df))]
    df["fer_probs"] = [[[0.5, 0.5], [0.25, 0.75]] for _ in range(len(df))]
    write_manifest(df, tmp_path / "manifest.parquet")
    back = read_manifest(tmp_path)
    assert manifest_hash(back) == manifest_hash(df)
    back.at[1, "face_features"] = back.at[1, "face_features"] * 2
    assert manifest_hash(back) != manifest_hash(df)


def test_categorical_text_hashes_as_its_expanded_strings():
    """The streamed digest of a text categorical (issue 27: bounded memory on 500k rows) equals the
    digest of the same values as plain strings, nulls and row order included; a changed value changes it."""
    rng = np.random.default_rng(0)
    cats = ['{"seed":11,"n":3}', "é-ünïcode", "", "x" * 3000]
    values = [cats[i] if i < len(cats) else None for i in rng.integers(0, len(cats) + 1, size=40_000)]
    ids = [f"u{i:06d}" for i in rng.permutation(len(values))]
    plain = pd.DataFrame({"utt_id": ids, "cfg": pd.Series(values, dtype=object)})
    cat = plain.assign(cfg=plain["cfg"].astype("category"))
    assert isinstance(cat["cfg"].dtype, pd.CategoricalDtype)
    assert manifest_hash(cat) == manifest_hash(plain)
    assert manifest_hash(cat.iloc[::-1]) == manifest_hash(plain)
    changed = cat.copy()
    changed.loc[changed.index[5], "cfg"] = cats[1] if changed["cfg"].iloc[5] != cats[1] else cats[0]
    assert manifest_hash(changed) != manifest_hash(cat)
