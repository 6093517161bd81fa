"""`reproduce --all`: interrupted after the first analysis, the rerun skips it and runs the rest; an
analysis whose corpus is absent is listed as not run with the reason; the index (Markdown + self-contained
HTML) has the summary table and every analysis; budgets resolve to different sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gaussian_featureset import gaussian_featureset
from tiny_analysis import tiny_spec
from semiemo.tune.space import load_spec


_spec = tiny_spec


class Stop(KeyboardInterrupt):
    pass


def test_reproduce_all_resumes_after_an_interrupt_and_writes_one_index(tmp_path, ray_local):
    from semiemo.analysis.reproduce_all import reproduce_all

    spaces = tmp_path / "spaces"
    spaces.mkdir()
    for name, corpus in (("a_first", "gauss"), ("b_second", "gauss"), ("c_absent", "iemocap:/nonexistent/IEMOCAP")):
        (spaces / f"{name}.yaml").write_text(yaml.safe_dump(_spec(name, corpus), allow_unicode=True))
    stand_in = {**_spec("d_stand_in", "iemocap:/nonexistent/IEMOCAP"), "fallback_variant": "gauss",
                "variants": {"gauss": {"overrides": {"experiment.corpus": "gauss"}}}}
    (spaces / "d_stand_in.yaml").write_text(yaml.safe_dump(stand_in, allow_unicode=True))
    data = gaussian_featureset(n_per_class_speaker=4, speakers=4, dim=6)

    def feed(spec):
        return data if spec.base_config().corpus == "gauss" else None

    out, sweeps = tmp_path / "out", tmp_path / "sweeps"
    seen: list[str] = []

    def interrupt(status):
        seen.append(status["name"])
        raise Stop

    with pytest.raises(Stop):
        reproduce_all("quick", out_dir=out, storage_dir=sweeps, spaces=spaces, data=feed, progress=False,
                      after_each=interrupt)
    assert seen == ["a_first"]
    first = json.loads((out / "a_first" / "status.json").read_text())
    assert first["status"] == "done" and first["budget"] == "quick" and first["wall_s"] > 0
    assert not (out / "b_second" / "status.json").exists()
    # the index already exists after the first analysis, the others marked as not reached
    assert "not reached yet" in (out / "index.md").read_text()

    statuses = reproduce_all("quick", out_dir=out, storage_dir=sweeps, spaces=spaces, data=feed, progress=False)
    by = {s["name"]: s for s in statuses}
    assert by["a_first"]["finished"] == first["finished"]          # skipped, not re-run
    run = json.loads((out / "runs.jsonl").read_text().splitlines()[-1])
    assert run["skipped"] == ["a_first"] and run["ran"] == ["b_second", "c_absent", "d_stand_in"]
    assert by["b_second"]["status"] == "done" and by["b_second"]["outcome"] in ("reproduced", "partly", "not", "undetermined", "not tested")
    assert by["c_absent"]["status"] == "not run" and "/nonexistent/IEMOCAP" in by["c_absent"]["why"]
    # the paper's corpus absent, a stand-in named by the YAML ran instead, and the report says so
    assert by["d_stand_in"]["status"] == "done" and "ran the `gauss` stand-in" in by["d_stand_in"]["why"]
    assert by["d_stand_in"]["corpus"] == "gauss (stand-in)" and (out / "d_stand_in" / "figure.png").is_file()

    index = (out / "index.md").read_text()
    assert "| analysis | paper source | outcome | why |" in index
    for name in ("a_first", "b_second", "c_absent", "d_stand_in"):
        assert f"[{name}](#{name})" in index and f"## {name} — paper 000 Fig. 5a" in index
    assert "![a_first](a_first/figure.png)" in index                 # figure links point into the folder
    html = (out / "index.html").read_text()
    assert html.count("data:image/png;base64,") >= 2 and "<table>" in html and "http" not in html.split("<body>")[1][:200]
    assert "Paper sources without an analysis" in index and "Table 6" in index   # uncovered sources with reasons


def test_budgets_give_different_sizes_and_separate_names():
    path = Path(__file__).resolve().parents[1] / "search_spaces" / "fixmatch_tau.yaml"
    quick, full, paper = (load_spec(path, budget=b) for b in ("quick", "full", "paper"))
    assert quick.base_config().train.epochs < full.base_config().train.epochs <= paper.base_config().train.epochs == 50
    assert paper.base_config().protocol.max_folds is None
    assert "unlabeled=500000" in str(paper.base_config().corpus)
    assert load_spec(path, quick=True).model_dump() == quick.model_dump()


def test_every_paper_source_has_an_analysis_or_a_reason():
    from semiemo.analysis.coverage import source_coverage

    cov = source_coverage()
    bare = cov[(cov["analyses"] == "") & (cov["why"] == "")]
    assert bare.empty, f"sources with neither an analysis nor a reason: {bare[['paper', 'source']].values.tolist()}"
    assert (cov["analyses"] != "").sum() >= 20


def test_partly_when_some_series_hold_and_diagnosis_measures_seed_noise():
    import pandas as pd

    from semiemo.analysis.diagnosis import diagnose, headline
    from semiemo.analysis.reproduce import shape_verdict
    from semiemo.tune.space import ShapeClaim

    curve = pd.concat([pd.DataFrame({"series": s, "x": [0, 1, 2], "mean": m, "n": 3})
                       for s, m in (("a", [0.4, 0.5, 0.6]), ("b", [0.6, 0.5, 0.4]))])
    v = shape_verdict(curve, ShapeClaim(kind="increasing"))
    assert v.reproduced is False and v.partly and v.outcome == "partly" and "PARTLY REPRODUCED" in v.line
    assert "1 of 2 series" in v.line
    # three points whose means differ by far less than the seed-to-seed spread: noise explains it
    rows = [{"x": x, "seed": s, "test_ua": 0.5 + 0.001 * x + (0.05 if s % 2 else -0.05), "val_ua": 0.5,
             "status": "TERMINATED", "best_epoch": 3, "epochs_run": 3, "n_unlabeled": 100,
             "unlabeled_rows_drawn": 30, "pseudo_label_accuracy": 0.4, "test_confusion": "[[1, 0], [0, 1]]"}
            for x in (0, 1, 2) for s in range(4)]
    found = {f.what: f for f in diagnose(pd.DataFrame(rows), metric="test_ua", x="x")}
    assert found["seed noise"].explains and "ratio 0.0" in found["seed noise"].line
    assert found["training length"].explains and "100% of 12 runs" in found["training length"].line
    assert found["pool"].explains and "30%" in found["pool"].line
    assert found["chance"].explains and "chance 0.5000 (1/2 classes)" in found["chance"].line
    assert headline(list(found.values()))


def test_paper_budget_step_count_follows_the_spec():
    import math

    from semiemo.analysis.paper_cost import cost_key, grid_points, steps_per_epoch
    from semiemo.corpora import parse_synthetic_spec
    from semiemo.tune.space import experiment_config

    path = Path(__file__).resolve().parents[1] / "search_spaces" / "fixmatch_tau.yaml"
    paper = load_spec(path, budget="paper")
    points = grid_points(paper)
    assert len(points) == 6 and {p["method_params.threshold"] for p in points} == {0.5, 0.7, 0.8, 0.9, 0.95, 0.99}
    cfgs = [experiment_config(paper, p, seed=0) for p in points]
    assert len({cost_key(c) for c in cfgs}) == 1              # τ does not change a step's cost: measured once
    sc = parse_synthetic_spec("unlabeled=500000")
    labeled = sc.n_acted + sc.n_wild_labeled
    c = cfgs[0]
    labeled_pass = math.ceil(labeled * (1 - 1 / 5) * (1 - c.protocol.validation_fraction) * c.label_fraction
                             / c.train.batch_size)
    pool_pass = math.ceil(sc.n_unlabeled / (c.train.mu * c.train.batch_size))
    # train.budget's rule: an SSL epoch is the longer of a labeled pass and a pool pass at μ·B rows a step
    assert pool_pass > labeled_pass
    assert steps_per_epoch(cfgs[0], None, folds=5) == max(labeled_pass, pool_pass)


def test_only_an_absent_corpus_is_absent_data_and_an_arms_corpus_is_checked_before_ray(tmp_path):
    """A file missing later in a run (weights, a trial's folder) is a failure, not 'data not on this machine'
    (which would also start a stand-in run); the corpora of the base and of every arm are checked up front."""
    from semiemo.analysis.reproduce import CorpusAbsent
    from semiemo.analysis.reproduce_all import _check_corpora, _is_missing_data

    assert not _is_missing_data(FileNotFoundError("weights/front_end.pt"))
    assert _is_missing_data(CorpusAbsent("no CASIA at /x"))
    path = tmp_path / "arms.yaml"
    spec = {**_spec("arms", "gauss"), "arms": {"here": {}, "there": {"corpus": f"casia:{tmp_path / 'no_casia'}"}},
            "parameters": {"arm": {"grid": ["here", "there"]}}}
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    with pytest.raises(CorpusAbsent, match="no_casia"):
        _check_corpora(load_spec(path, budget="full"))
    _check_corpora(load_spec(path.parent / path.name, budget="full").model_copy(update={"arms": {"here": {}}}))


def test_an_analysis_with_failed_trials_is_an_error_not_done(tmp_path):
    """Trials killed for memory left cmkt_table3 with no finished trial; it was written 'done' (not tested) and a
    rerun would have skipped it. Failed trials make the status 'error', so the next run retries them."""
    import pandas as pd

    from semiemo.analysis.reproduce import render

    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump(_spec("failing"), allow_unicode=True))
    spec = load_spec(path, budget="full")
    rows = [{"trial_id": "t0", "status": "TERMINATED", "seed": 0, "fold": 0, "train.lr": 0.001, "val_ua": 0.5,
             "test_ua": 0.5}, {"trial_id": "t1", "status": "ERROR", "train.lr": 0.01}]
    status = render(spec, pd.DataFrame(rows), out_dir=tmp_path / "out", budget="full")["status"]
    assert status["status"] == "error" and status["why"].startswith("1 of 2 trials failed")
    ok = render(spec, pd.DataFrame(rows[:1]), out_dir=tmp_path / "out", budget="full")["status"]
    assert ok["status"] == "done"


def test_a_files_paper_budget_section_adds_to_the_paper_defaults():
    """Where `full` is sized for a CPU, the paper's architecture lives in `paper_budget:`; the paper
    budget must keep its defaults (every fold, a 500k pool) and take the file's section over them."""
    from semiemo.tune.space import PAPER_UNLABELED, spec_from_dict

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "search_spaces" / "fixmatch_tau.yaml").read_text())
    raw["paper_budget"] = {"experiment.train.epochs": 77, "experiment.transformer": {"layers": 8, "d_model": 512}}
    paper = spec_from_dict(raw, budget="paper").base_config()
    full = spec_from_dict(raw, budget="full").base_config()
    assert paper.train.epochs == 77 and paper.transformer == {"layers": 8, "d_model": 512}
    assert f"unlabeled={PAPER_UNLABELED}" in str(paper.corpus) and paper.protocol.max_folds is None
    assert full.train.epochs != 77 and full.transformer != paper.transformer   # `full` is the file as written


def test_a_reanalysis_of_restored_trials_keeps_the_wall_time_of_the_run_that_made_them(tmp_path):
    """A premise edit re-analyses the sweep's restored trials in seconds; the index must still say what the
    trials cost (the run that trained them), with the re-analysis beside it, not the seconds alone."""
    import pandas as pd

    from semiemo.analysis.index_report import write_index
    from semiemo.analysis.reproduce import render

    path = tmp_path / "again.yaml"
    path.write_text(yaml.safe_dump(_spec("again"), allow_unicode=True))
    spec = load_spec(path, budget="full")
    rows = [{"trial_id": f"t{i}", "status": "TERMINATED", "seed": 0, "fold": 0, "train.lr": lr, "val_ua": v,
             "test_ua": v} for i, (lr, v) in enumerate([(0.001, 0.4), (0.01, 0.6)])]
    out = tmp_path / "out"
    first = render(spec, pd.DataFrame(rows), out_dir=out, budget="full", wall_s=600.0)["status"]
    assert first["wall_s"] == 600.0 and first["reanalysis_wall_s"] is None
    again = render(spec, pd.DataFrame(rows), out_dir=out, budget="full", wall_s=12.0)["status"]
    assert again["wall_s"] == 600.0 and again["reanalysis_wall_s"] == 12.0
    md, _ = write_index(out, [again], header={"budget": "full"})
    assert "10.0 min (its trials; re-analysed in 12 s)" in md.read_text()
    rerun = [{**r, "trial_id": r["trial_id"] + "b"} for r in rows]   # new trials: their own wall
    fresh = render(spec, pd.DataFrame(rerun), out_dir=out, budget="full", wall_s=30.0)["status"]
    assert fresh["wall_s"] == 30.0 and fresh["reanalysis_wall_s"] is None
