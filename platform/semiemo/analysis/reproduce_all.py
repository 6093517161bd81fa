"""`reproduce --all`: every analysis in search_spaces/ at one budget, one progress view, one report.

Resumable at two levels: an analysis whose `status.json` says done for the same spec (digest) is skipped,
and an interrupted analysis resumes its Tune sweep (finished trials are not trained again). An analysis
that cannot run (its corpus is not on this machine) or fails is recorded with its reason and the rest
go on; nothing is dropped from the index.

Runs in pieces: `select` (the CLI's `--group` / `--only`, `analysis.groups`) names the analyses one
invocation runs; the index still lists every analysis with its last recorded status, so the pieces
merge into one report, and the closing summary counts outcomes over all of them and names the groups
still to run, with their commands.

Layout (`<out>` = `$SEMIEMO_HOME/reproduce/<budget>` unless given):

    <out>/index.md, index.html   the summary table and every analysis's section (figures inline in HTML)
    <out>/runs.jsonl             one line per invocation: start, end, wall time, what ran and what was skipped
    <out>/<analysis>/            report.md, figure.png, results.parquet, status.json
"""

from __future__ import annotations

import functools

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from semiemo.analysis.groups import group_of
from semiemo.analysis.index_report import counts_line
from semiemo.analysis.index_report import fmt_wall as _wall
from semiemo.analysis.reproduce import (STATUS, CorpusAbsent, check_corpus_present, read_status, render,
                                        reproduce_root, reproduce_sweeps, search_spaces_dir, spec_digest, write_status)
from semiemo.tune.space import SearchSpace, load_spec, trial_budget


@dataclass
class Planned:
    name: str
    spec: SearchSpace | None        # None: the file did not load for this corpus/budget
    error: str = ""


def plan(budget: str, corpus: str | None = None, names: list[str] | None = None,
         spaces: Path | None = None) -> list[Planned]:
    """The analyses `--all` runs, in file order: every search space marked `in_all` (or `names`)."""
    out = []
    for path in sorted((spaces or search_spaces_dir()).glob("*.yaml")):
        if names is not None and path.stem not in names:
            continue
        try:
            spec = load_spec(path, corpus=corpus, budget=budget)
        except Exception as e:  # listed with the reason, never hidden
            out.append(Planned(path.stem, None, f"{type(e).__name__}: {str(e).splitlines()[0]}"))
            continue
        if spec.in_all or names is not None:
            out.append(Planned(spec.name, spec))
    return out


def _not_run(p: Planned, budget: str, why: str, status: str = "not run") -> dict[str, Any]:
    spec = p.spec
    return {"name": p.name, "paper": spec.paper if spec else "", "budget": budget, "status": status,
            "outcome": "", "verdict": "", "why": why, "seeds": 0, "trials": 0, "wall_s": None,
            "corpus": str(spec.base_config().corpus) if spec else "", "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "spec_digest": spec_digest(spec) if spec else ""}


DATA_ABSENT = "data not on this machine: "   # the `why` of an analysis skipped for its absent corpus


def _is_missing_data(e: BaseException) -> bool:
    """A corpus that is not on this machine (`check_corpus_present` raised CorpusAbsent, naming the path and
    the fix). Any other missing file (weights, a trial's folder) is a failure of the run, not absent data."""
    return isinstance(e, CorpusAbsent)


def _check_corpora(spec: SearchSpace) -> None:
    """Raise CorpusAbsent before Ray starts when the analysis's corpus, or an arm's, is not on this machine."""
    corpora = {str(spec.base_config().corpus)} | {str(a["corpus"]) for a in spec.arms.values() if a.get("corpus")}
    for corpus in sorted(corpora):
        check_corpus_present(corpus)


class _LedgerWatch:
    """Counts finished trials of the running sweep by reading its ledger (works for fresh and restored sweeps)."""

    def __init__(self, ledger: Path, on_count: Callable[[int], None]) -> None:
        self.ledger, self.on_count = ledger, on_count
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.on_count(self.count())

    def count(self) -> int:
        try:
            return sum(1 for line in self.ledger.read_text().splitlines() if line.strip())
        except OSError:
            return 0

    def __enter__(self) -> "_LedgerWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.on_count(self.count())


def reproduce_all(budget: str = "quick", *, corpus: str | None = None, address: str | None = None,
                  out_dir: str | Path | None = None, storage_dir: str | Path | None = None,
                  names: list[str] | None = None, resume: bool = True, spaces: Path | None = None,
                  data: Callable[[SearchSpace], Any] | None = None, progress: bool = True,
                  after_each: Callable[[dict[str, Any]], None] | None = None,
                  optuna_storage: str | None = None, select: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every planned analysis; returns one status dict per analysis (also in `<out>/*/status.json`).

    `data(spec)`: a FeatureSet per analysis instead of loading its corpus (tests). `after_each(status)` is
    called after each analysis (done, skipped or not run), e.g. to stop early. `select`: run only these
    analyses (one piece); the others keep their recorded status in the index and the returned list."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from semiemo.tune.runner import run_sweep, sweep_dir

    root = Path(out_dir or reproduce_root(budget))
    root.mkdir(parents=True, exist_ok=True)
    storage = str(storage_dir or reproduce_sweeps(budget))  # a folder or a URI (semiemo.storage)
    planned = plan(budget, corpus, names, spaces)
    chosen = set(select) if select is not None else {p.name for p in planned}
    statuses: dict[str, dict[str, Any]] = {}
    for p in planned:  # what earlier runs left: the index shows it until this run replaces it
        st = read_status(root / p.name)
        why = "not reached yet" if p.name in chosen else f"not in this piece (group `{group_of(p.name)}`)"
        statuses[p.name] = st if st else _not_run(p, budget, why)
    header = _header(budget, corpus, address)
    console = Console(highlight=False)
    t_start, ran, skipped = time.time(), [], []
    pieces = [p for p in planned if p.name in chosen]
    totals = {p.name: trial_budget(p.spec) if p.spec else 0 for p in pieces}
    if len(pieces) < len(planned):
        console.print(f"this piece: {len(pieces)} of {len(planned)} analyses, {sum(totals.values())} trials "
                      f"({', '.join(p.name for p in pieces)})")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not progress, transient=False) as bar:
        all_task = bar.add_task(f"[bold]reproduce --all --budget {budget}", total=len(pieces))
        trials_task = bar.add_task("trials", total=sum(totals.values()))
        done_trials = 0
        for i, p in enumerate(pieces, start=1):
            prior = read_status(root / p.name)
            if p.spec is None:
                st = _not_run(p, budget, f"invalid search space: {p.error}", status="error")
            elif resume and prior and prior.get("status") == "done" and prior.get("spec_digest") == spec_digest(p.spec):
                st = prior
                skipped.append(p.name)
                console.print(f"[dim]skip[/] {escape(f'[{i}/{len(pieces)}]')} {p.name}: done earlier ({prior.get('outcome')}, "
                              f"{prior.get('finished')})")
            else:
                console.print(f"{escape(f'[{i}/{len(pieces)}]')} {p.name} (group {group_of(p.name)}): {totals[p.name]} trials, "
                              f"{_wall(time.time() - t_start)} into this piece")
                st = _run_one(p, budget, root, storage, address, resume, data, bar, trials_task, done_trials,
                              sweep_dir, functools.partial(run_sweep, optuna_storage=optuna_storage))
                ran.append(p.name)
                console.print(f"{'[green]✓' if st['status'] == 'done' else '[yellow]✗'}[/] {p.name}: "
                              f"{st.get('outcome') or st['status']} ({_wall(st.get('wall_s'))}) — {st.get('why', '')[:150]}")
            done_trials += totals[p.name]
            bar.update(trials_task, completed=done_trials)
            bar.advance(all_task)
            statuses[p.name] = st
            _write(root, planned, statuses, header, t_start)
            if after_each is not None:
                after_each(st)
    wall = time.time() - t_start
    with (root / "runs.jsonl").open("a") as f:
        f.write(json.dumps({"started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t_start)),
                            "wall_s": round(wall, 1), "budget": budget, "corpus": corpus or "synthetic",
                            "ran": ran, "skipped": skipped,
                            "selected": None if select is None else [p.name for p in pieces]}) + "\n")
    _write(root, planned, statuses, header, t_start)
    for line in merged_summary([statuses[p.name] for p in planned], budget):
        console.print(line)
    console.print(f"index: {root / 'index.md'}  ·  {root / 'index.html'}  ·  wall {_wall(wall)}")
    return [statuses[p.name] for p in planned]


def merged_summary(statuses: list[dict[str, Any]], budget: str) -> list[str]:
    """What every piece so far adds up to: outcome counts over all analyses, per group how many are done
    and their own wall time, and the command for each group with analyses still to run."""
    lines = [f"all pieces so far: {counts_line(statuses)}"]
    by_group: dict[str, list[dict[str, Any]]] = {}
    for st in statuses:
        by_group.setdefault(group_of(st["name"]), []).append(st)
    for group, sts in by_group.items():
        done = [s for s in sts if s.get("status") == "done"]
        absent = [s for s in sts if s.get("status") != "done" and str(s.get("why", "")).startswith(DATA_ABSENT)]
        wall = sum(float(s.get("wall_s") or 0) for s in done)
        todo = len(sts) - len(done) - len(absent)   # rerunning the group cannot bring an absent corpus
        lines.append(f"  {group:<8} {len(done)}/{len(sts)} done, {_wall(wall) if done else '—'} of analysis wall time"
                     + (f", {len(absent)} without their data here" if absent else "")
                     + (f"; to run: semiemo reproduce --all --budget {budget} --group {group}" if todo else ""))
    return lines


def _run_one(p: Planned, budget: str, root: Path, storage: str, address: str | None, resume: bool,
             data: Callable[[SearchSpace], Any] | None, bar: Any, trials_task: Any, done_before: int,
             sweep_dir: Callable, run_sweep: Callable) -> dict[str, Any]:
    spec = p.spec
    assert spec is not None
    folder = root / p.name
    (folder / STATUS).unlink(missing_ok=True)
    t0 = time.time()
    bar.update(trials_task, description=f"trials of {p.name}")
    def attempt(run_spec: SearchSpace) -> dict[str, Any]:
        _check_corpora(run_spec)
        with _LedgerWatch(sweep_dir(run_spec, storage) / "finished.jsonl",
                          lambda n: bar.update(trials_task, completed=done_before + n)):
            table = run_sweep(run_spec, address=address, storage_dir=storage, resume=resume,
                              data=data(run_spec) if data else None, verbose=0)
        return render(run_spec, table, out_dir=root, budget=budget, wall_s=time.time() - t0,
                      trials_dir=sweep_dir(run_spec, storage) / "trials")["status"]

    try:
        try:
            return attempt(spec)
        except CorpusAbsent as absent:
            if not spec.fallback_variant or spec.source_path is None:
                raise
            # the paper's corpus is not here: run the named stand-in under this analysis's name, and say so
            fb = load_spec(spec.source_path, corpus=spec.fallback_variant, budget=budget)
            fb = fb.model_copy(update={"name": p.name})
            fb._source_path = spec.source_path
            st = attempt(fb)
            st.update(spec_digest=spec_digest(spec), corpus=f"{st['corpus']} (stand-in)",
                      why=f"{str(absent).splitlines()[0][:120]} — ran the `{spec.fallback_variant}` stand-in: {st['why']}")
            write_status(folder, st)
            return st
    except KeyboardInterrupt:
        raise
    except Exception as e:  # one analysis's failure is recorded with its reason; the rest go on
        missing = _is_missing_data(e)
        st = _not_run(p, budget, (DATA_ABSENT if missing else "failed: ")
                      + f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                      status="not run" if missing else "error")
        st["wall_s"] = time.time() - t0
        write_status(folder, st)
        return st


def _write(root: Path, planned: list[Planned], statuses: dict[str, dict[str, Any]], header: dict[str, Any],
           t_start: float) -> None:
    from semiemo.analysis.coverage import source_coverage
    from semiemo.analysis.index_report import write_index

    cov = source_coverage()
    uncovered = cov[cov["analyses"] == ""].to_dict("records")
    walls = [s.get("wall_s") for s in statuses.values() if s.get("status") == "done" and s.get("wall_s")]
    head = {**header, "this invocation's wall time so far": _wall(time.time() - t_start),
            "sum of the analyses' own wall times (over every invocation)": _wall(sum(walls)) if walls else "—"}
    write_index(root, [statuses[p.name] for p in planned], header=head, uncovered=uncovered)


def _header(budget: str, corpus: str | None, address: str | None) -> dict[str, Any]:
    import platform as _platform

    try:
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    except Exception:  # torch missing is reported elsewhere
        device = "unknown"
    return {"budget": budget, "corpus": corpus or "synthetic (each analysis's own stand-in)",
            "cluster": address or os.environ.get("RAY_ADDRESS") or "local Ray",
            "machine": f"{_platform.node()}, {os.cpu_count()} CPU cores, {device}",
            "generated": time.strftime("%Y-%m-%d %H:%M:%S")}
