"""Directory and table adapters: labels/speakers from names; unmatched files are reported, not dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

from semiemo.commands.corpora_validate import add_commands
from semiemo.corpora import load_corpus, read_manifest
from semiemo.corpora.directory import read_directory, scan_directory, template_to_regex
from semiemo.corpora.manifest import validate_manifest
from semiemo.corpora.table import read_table

RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                    "06": "fearful", "07": "disgust", "08": "surprised"}
RAVDESS_TEMPLATE = "Actor_{_actor}/{modality}-{channel}-{label}-{intensity}-{statement}-{repetition}-{speaker}.wav"

EMODB_EMOTIONS = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness",
                  "T": "sadness", "N": "neutral"}
EMODB_REGEX = r"wav/(?P<speaker>\d\d)(?P<text_id>[a-z]\d\d)(?P<label>[A-Z])(?P<version>[a-z])\.wav"


def _wav(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(160, dtype="float32"), 16000)


@pytest.fixture
def ravdess(tmp_path):
    root = tmp_path / "ravdess"
    for actor in ("01", "02"):
        for emo in ("01", "05"):
            _wav(root / f"Actor_{actor}" / f"03-01-{emo}-01-02-01-{actor}.wav")
    _wav(root / "Actor_02" / "notes.wav")  # does not fit the naming scheme
    (root / "README.txt").write_text("not audio")
    return root


@pytest.fixture
def emodb(tmp_path):
    root = tmp_path / "emodb"
    for name in ("03a01Wa.wav", "03a01Fa.wav", "10b02Tb.wav", "16a05Nc.wav", "12a01Xa.wav"):
        _wav(root / "wav" / name)
    return root


def test_template_fields_become_named_groups():
    rx = template_to_regex("{speaker}/{label}/{name}.wav")
    m = rx.fullmatch("spk1/angry/001.wav")
    assert m.groupdict() == {"speaker": "spk1", "label": "angry", "name": "001"}
    assert rx.fullmatch("spk1/angry/001.flac") is None
    assert rx.fullmatch("extra/spk1/angry/001.wav") is None


def test_template_field_with_its_own_pattern():
    rx = template_to_regex("{speaker:\\d\\d}{label:[A-Z]}.wav")
    assert rx.fullmatch("03W.wav").groupdict() == {"speaker": "03", "label": "W"}


def test_ravdess_like_template(ravdess):
    scan = scan_directory(ravdess, template=RAVDESS_TEMPLATE, label_map=RAVDESS_EMOTIONS, corpus="ravdess")
    df = scan.manifest.set_index("utt_id")
    assert len(df) == 4
    row = df.loc["ravdess/Actor_02/03-01-05-01-02-01-02"]
    assert (row["speaker"], row["label"], row["label_code"], row["intensity"]) == ("02", "angry", "05", "01")
    assert "_actor" not in df.columns
    assert (df["split_group"] == df["speaker"]).all() and df["labeled"].all()
    assert validate_manifest(scan.manifest, label_set=RAVDESS_EMOTIONS.values()) == []


def test_non_matching_audio_is_reported_not_dropped(ravdess):
    scan = scan_directory(ravdess, template=RAVDESS_TEMPLATE, label_map=RAVDESS_EMOTIONS)
    assert [rel for rel, _ in scan.unmatched] == ["Actor_02/notes.wav"]
    assert "does not match" in scan.unmatched[0][1]
    assert scan.ignored_non_audio == 1


def test_read_directory_warns_about_unmatched(ravdess):
    with pytest.warns(UserWarning, match="1 audio file"):
        df = read_directory(ravdess, template=RAVDESS_TEMPLATE, label_map=RAVDESS_EMOTIONS)
    assert df.attrs["unmatched_files"][0][0] == "Actor_02/notes.wav"


def test_emodb_like_regex_with_label_map(emodb):
    scan = scan_directory(emodb, regex=EMODB_REGEX, label_map=EMODB_EMOTIONS, corpus="emodb")
    df = scan.manifest.set_index("utt_id")
    assert df["label"].to_dict() == {"emodb/wav/03a01Fa": "happiness", "emodb/wav/03a01Wa": "anger",
                                     "emodb/wav/10b02Tb": "sadness", "emodb/wav/16a05Nc": "neutral"}
    assert df.loc["emodb/wav/10b02Tb", "speaker"] == "10"
    assert df.loc["emodb/wav/10b02Tb", "text_id"] == "b02"


def test_label_code_outside_the_map_is_reported(emodb):
    scan = scan_directory(emodb, regex=EMODB_REGEX, label_map=EMODB_EMOTIONS)
    assert scan.unmatched == [("wav/12a01Xa.wav", "label code 'X' is not in label_map ['A', 'E', 'F', 'L', 'N', 'T', 'W']")]


def test_template_and_regex_are_exclusive(emodb):
    with pytest.raises(ValueError, match="exactly one"):
        scan_directory(emodb)


def test_dir_spec_in_load_corpus(emodb):
    spec = f"dir:{emodb}?regex={EMODB_REGEX}&corpus=emodb&label_map=W:anger;F:happiness;T:sadness;N:neutral"
    with pytest.warns(UserWarning, match="not imported"):
        df = load_corpus(spec)
    assert len(df) == 4 and set(df["corpus"]) == {"emodb"}


def test_dir_spec_rejects_unknown_option(emodb):
    with pytest.raises(ValueError, match="allowed"):
        load_corpus(f"dir:{emodb}?templat={{speaker}}.wav")


def test_table_adapter_renames_and_resolves_relative_paths(tmp_path):
    _wav(tmp_path / "clips" / "a.wav")
    _wav(tmp_path / "clips" / "b.wav")
    pd.DataFrame({"file_path": ["clips/a.wav", "clips/b.wav"], "emotion": ["anger", None],
                  "spk": ["s1", "s2"]}).to_csv(tmp_path / "mine.csv", index=False)
    df = read_table(tmp_path / "mine.csv", mapping="path=file_path,label=emotion,speaker=spk", domain="wild")
    assert df["path"].tolist() == [str(tmp_path / "clips" / "a.wav"), str(tmp_path / "clips" / "b.wav")]
    assert df["labeled"].tolist() == [True, False]
    assert df["utt_id"].tolist() == ["mine/a", "mine/b"]
    assert validate_manifest(df) == []


def test_table_adapter_leaves_unknowable_columns_for_validation(tmp_path):
    pd.DataFrame({"path": ["x.wav"]}).to_csv(tmp_path / "t.csv", index=False)
    problems = validate_manifest(read_table(tmp_path / "t.csv"), check_audio=False)
    assert {p.column for p in problems if p.kind == "missing_column"} == {"speaker", "split_group", "domain", "labeled"}


def test_table_adapter_names_a_missing_source_column(tmp_path):
    pd.DataFrame({"path": ["x.wav"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match="emotion"):
        read_table(tmp_path / "t.csv", mapping="label=emotion")


def test_cli_import_dir_writes_manifest_and_reports_unmatched(ravdess, tmp_path):
    app, corpora = typer.Typer(), typer.Typer()
    add_commands(corpora)
    app.add_typer(corpora, name="corpora")
    out = tmp_path / "out" / "manifest.parquet"
    result = CliRunner().invoke(app, ["corpora", "import", "dir", str(ravdess), "--out", str(out),
                                      "--template", RAVDESS_TEMPLATE,
                                      "--label-map", ";".join(f"{k}:{v}" for k, v in RAVDESS_EMOTIONS.items())])
    assert result.exit_code == 1, result.output
    assert "not imported: Actor_02/notes.wav" in result.output
    assert len(read_manifest(out)) == 4
