"""`reproduce --all` in pieces: each group runs on its own, the index merges every piece, and a rerun of
the whole skips what the pieces finished (issue 23 item 5: a `full` run longer than one sitting)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from gaussian_featureset import gaussian_featureset
from tiny_analysis import tiny_spec
from semiemo.analysis.groups import OTHER, group_of, select


def test_every_analysis_that_all_runs_belongs_to_a_named_group():
    from semiemo.analysis.reproduce_all import plan

    names = [p.name for p in plan("full")]
    assert len(names) >= 30
    assert [n for n in names if group_of(n) == OTHER] == []


def test_a_piece_is_its_groups_and_its_named_analyses_in_plan_order():
    names = ["ssl_positive_control", "fixmatch_tau", "cmdm_table4", "mmmd_table1", "unlabeled_quantity"]
    assert select(names, ["ssl"], ["mmmd_table1"]) == ["fixmatch_tau", "mmmd_table1", "unlabeled_quantity"]
    assert select(names) == names


def test_an_unknown_group_or_analysis_is_an_error_naming_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown group\(s\) \['paper9'\].*mmmd \(mmmd_table1\)"):
        select(["mmmd_table1"], ["paper9"])
    with pytest.raises(ValueError, match="--only names \\['mmmd_tabel1'\\].*mmmd_table1"):
        select(["mmmd_table1"], only=["mmmd_tabel1"])


def test_cli_refuses_an_unknown_group_before_running_anything(tmp_path, monkeypatch):
    from semiemo.cli import app

    monkeypatch.setenv("SEMIEMO_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["reproduce", "--all", "--budget", "full", "--group", "paper9"])
    assert result.exit_code == 2 and "unknown group(s) ['paper9']" in result.output and "avspnet" in result.output
    assert not (tmp_path / "reproduce").exists()


_spec = tiny_spec


def test_pieces_merge_into_one_index_and_a_whole_rerun_skips_them(tmp_path, ray_local):
    from semiemo.analysis.reproduce_all import reproduce_all

    spaces = tmp_path / "spaces"
    spaces.mkdir()
    names = ("fixmatch_tiny", "mmmd_tiny")   # two pieces (Tune start-up per analysis is the cost)
    for name in names:
        (spaces / f"{name}.yaml").write_text(yaml.safe_dump(_spec(name), allow_unicode=True))
    data = gaussian_featureset(n_per_class_speaker=4, speakers=4, dim=6)
    out, sweeps = tmp_path / "out", tmp_path / "sweeps"

    def run(pick):
        return {s["name"]: s for s in reproduce_all("quick", out_dir=out, storage_dir=sweeps, spaces=spaces,
                                                    data=lambda spec: data, progress=False, select=pick)}

    first = run(select(names, ["ssl"]))
    assert first["fixmatch_tiny"]["status"] == "done"
    assert first["mmmd_tiny"]["status"] == "not run" and "not in this piece (group `mmmd`)" in first["mmmd_tiny"]["why"]
    index = (out / "index.md").read_text()
    assert all(f"[{n}](#{n})" in index for n in names)        # the index lists the analyses of later pieces too

    second = run(select(names, ["mmmd"]))
    assert all(second[n]["status"] == "done" for n in names)
    assert second["fixmatch_tiny"]["finished"] == first["fixmatch_tiny"]["finished"]   # kept, not run again
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["ran"] for r in runs] == [["fixmatch_tiny"], ["mmmd_tiny"]]
    assert runs[1]["selected"] == ["mmmd_tiny"]

    whole = run(None)
    assert {n: s["finished"] for n, s in whole.items()} == {n: s["finished"] for n, s in second.items()}
    assert json.loads((out / "runs.jsonl").read_text().splitlines()[-1])["skipped"] == list(names)
    counts = (out / "index.md").read_text().split("## Summary")[1].split("| analysis |")[0]
    assert "2 analyses" in counts and "not run" not in counts          # the merged summary: all three done


def test_the_merged_summary_offers_no_rerun_for_a_group_whose_only_gap_is_an_absent_corpus():
    from semiemo.analysis.reproduce_all import DATA_ABSENT, merged_summary

    statuses = [{"name": "cmdm_table4", "status": "done", "wall_s": 60.0, "outcome": "reproduced"},
                {"name": "cmdm_table5", "status": "not run", "why": DATA_ABSENT + "FileNotFoundError: no CASIA"},
                {"name": "mmmd_table1", "status": "not run", "why": "not reached yet"}]
    lines = merged_summary(statuses, "full")
    cmdm = next(line for line in lines if line.strip().startswith("cmdm"))
    mmmd = next(line for line in lines if line.strip().startswith("mmmd"))
    assert "1/2 done" in cmdm and "1 without their data here" in cmdm and "to run" not in cmdm
    assert "0/1 done" in mmmd and "to run: semiemo reproduce --all --budget full --group mmmd" in mmmd
