"""`semiemo demo`: the whole platform on the embedded synthetic corpus, on a laptop, in minutes.

synthesize -> validate -> summarize -> featurize (Ray Data) -> train supervised + svm -> compare
semi-supervised methods (where the cluster assumption holds) -> a one-factor sweep -> one Markdown report with its PNGs in one folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console()

DEMO_FEATURES = ["egemaps", "text"]
COMPARE_METHODS = ["supervised", "pseudo_label", "mean_teacher", "mixmatch", "fixmatch"]
COMPARE_SEEDS = (0, 1, 2)   # 3 seeds: the least that gives each Δ a 95 % CI
# the SSL positive control's data (search_spaces/ssl_positive_control.yaml): cluster structure by construction
CONTROL_CORPUS = "clusters:classes=6,dims=20,per_class=5,val_per_class=10,unlabeled=3000,test=1200,separation=0.7,seed=0"


@dataclass
class DemoReport:
    """Sections of the Markdown report, filled stage by stage."""

    out: Path
    sections: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, title: str, body: str) -> None:
        self.sections.append(f"## {title}\n\n{body.strip()}\n")

    def write(self) -> Path:
        timing = "\n".join(f"| {k} | {v:.1f} |" for k, v in self.timings.items())
        text = ("# semiemo demo report\n\nEverything below was computed by `semiemo demo` in this run, on the "
                "embedded synthetic corpus (espeak-ng speech whose emotion lives in prosody, text, social "
                "attributes and a simulated face; unlabeled rows keep their truth only in `oracle_label`).\n\n"
                + "\n".join(self.sections)
                + f"\n## Stage timings\n\n| stage | seconds |\n|---|---|\n{timing}\n")
        path = self.out / "report.md"
        path.write_text(text)
        return path


def _table(df: pd.DataFrame, title: str) -> Table:
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c))
    for _, r in df.iterrows():
        t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.tolist()])
    return t


def _md(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.tolist()) + " |")
    return "\n".join(lines)


def run_demo(out_dir: str | Path = "demo_out", *, acted: int = 216, wild_labeled: int = 240, unlabeled: int = 960,
             seed: int = 0, epochs: int = 25, sweep: bool = True, compare: bool = True,
             address: str | None = None, verbose: bool = False) -> Path:
    """Run every stage; return the path of the Markdown report. Ray's own output goes to
    `out_dir/logs/ray.log` (`verbose`: to the terminal as well, as Ray does by itself)."""
    from semiemo.corpora.manifest import validate_manifest, write_manifest
    from semiemo.corpora.summary import class_shares, domain_overview
    from semiemo.corpora.synthetic import SynthConfig, synthesize_manifest

    from semiemo.jobs.ray_logs import ray_log_file, route_ray_logs, session_logs_dir

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    route_ray_logs(out / "logs" / "ray.log", verbose=verbose)
    report = DemoReport(out)
    store = str(out / "feature_store")

    # 1. corpus -------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    console.rule("[bold]1. synthesize the corpus")
    cfg = SynthConfig(seed=seed, n_acted=acted, n_wild_labeled=wild_labeled, n_unlabeled=unlabeled)
    manifest = synthesize_manifest(cfg)
    write_manifest(manifest, out / "corpus" / "manifest.parquet")
    problems = validate_manifest(manifest, label_set=set(cfg.emotions))
    for p in problems[:20]:
        console.print(f"[red]{p}")
    if problems:
        raise SystemExit(f"the demo corpus failed validation with {len(problems)} problem(s)")
    overview, shares = domain_overview(manifest), class_shares(manifest).reset_index(names="class")
    console.print(_table(overview, "corpus per domain"))
    console.print(_table(shares, "class shares per domain (%)"))
    console.print(f"validated {len(manifest)} rows: 0 problems")
    report.add("1. Corpus", f"{len(manifest)} utterances written to `corpus/manifest.parquet`, validated with "
               f"0 problems.\n\n{_md(overview)}\n\nClass shares (%):\n\n{_md(shares)}")
    report.timings["synthesize + validate"] = time.perf_counter() - t0

    # 2. features -----------------------------------------------------------------------------------
    t0 = time.perf_counter()
    console.rule("[bold]2. featurize with Ray Data into the feature store")
    from semiemo.features import featurize, load_featureset

    fz = featurize(manifest, DEMO_FEATURES, store_root=store, address=address)
    for line in fz.lines():
        console.print(line)
    data = load_featureset(manifest, DEMO_FEATURES, store_root=store, address=address)
    report.add("2. Features", "Ray Data pipeline → Parquet feature store (`feature_store/`), resumable.\n\n"
               + "\n".join(f"- {line}" for line in fz.lines())
               + f"\n- loaded {len(data)} rows; groups " + ", ".join(f"`{k}` {v}" for k, v in data.shapes().items()))
    report.timings["featurize"] = time.perf_counter() - t0

    # 3. supervised baselines --------------------------------------------------------------------------
    t0 = time.perf_counter()
    console.rule("[bold]3. train supervised (DNN) and svm baselines")
    from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig
    from semiemo.train.experiment import run_experiment

    base = ExperimentConfig(
        name="demo", corpus="synthetic", features=DEMO_FEATURES, feature_store=store,
        protocol=ProtocolConfig(name="speaker_kfold", folds=5, max_folds=2), label_fraction=1.0,
        train=TrainConfig(epochs=epochs, batch_size=32), output_dir=str(out / "runs"),
    )
    rows = []
    for method in ("supervised", "svm"):
        cfg_m = base.model_copy(update={"method": method, "name": f"demo-{method}",
                                        "output_dir": str(out / "runs" / method)})
        rows.append(run_experiment(cfg_m, data))
    results = pd.concat(rows, ignore_index=True)
    cols = [c for c in ("method", "fold", "test_ua", "test_wa", "test_f1_weighted", "test_f1_macro") if c in results]
    console.print(_table(results[cols], "supervised baselines (test, speaker-independent folds)"))
    report.add("3. Supervised baselines", f"Speaker-independent 5-fold (first 2 folds), all labels.\n\n{_md(results[cols])}\n\n"
               f"TensorBoard: `tensorboard --logdir {out / 'runs'}`")
    report.timings["supervised + svm"] = time.perf_counter() - t0

    # 4. semi-supervised comparison -------------------------------------------------------------------
    if compare:
        t0 = time.perf_counter()
        console.rule("[bold]4. compare semi-supervised methods where the cluster assumption holds")
        from semiemo.analysis.compare import delta_sentences, markdown_table, run_comparison, summarize, write_report

        # The speech corpus's pool has weak class structure in eGeMAPS space (10-NN purity 0.40 against 0.30
        # chance, issue 23): a comparison there would not test the methods. The clusters corpus has it by
        # construction (corpora/synthetic/CALIBRATION.md), the setting of `reproduce ssl_positive_control`.
        cl_data = load_featureset(CONTROL_CORPUS, ["clusters"], store_root=store, address=address)
        cmp_cfg = ExperimentConfig(name="demo-compare", corpus=CONTROL_CORPUS, features=["clusters"], feature_store=store,
                                   protocol=ProtocolConfig(name="fixed"), seeds=list(COMPARE_SEEDS),
                                   output_dir=str(out / "compare" / "runs"))
        cmp_results = run_comparison(cmp_cfg, COMPARE_METHODS, data=cl_data)
        files = write_report(cmp_results, out / "compare", title="Semi-supervised methods, 30 labels on clustered data",
                             setup=f"`{CONTROL_CORPUS}`: 6 Gaussian classes in 20 dimensions, 30 labels (5 per class), "
                                   "3,000 unlabeled rows (10-NN purity 0.76, chance 0.17), 1,200 test rows; the CLI's "
                                   f"default training budget; seeds {list(COMPARE_SEEDS)}. Each sentence below is "
                                   "worded by its CI, whatever the sign.")
        md = files["markdown"].read_text().split("\n", 2)[2]
        report.add("4. Semi-supervised comparison", md.replace("](comparison.png)", "](compare/comparison.png)"))
        summary = summarize(cmp_results)
        console.print(markdown_table(summary), soft_wrap=True, markup=False)  # "[min, max]" is no markup
        for line in delta_sentences(summary):
            console.print(line, markup=False)
        report.timings["comparison"] = time.perf_counter() - t0

    # 5. sweep ----------------------------------------------------------------------------------------
    if sweep:
        t0 = time.perf_counter()
        console.rule("[bold]5. a small Ray Tune sweep: MixMatch λ_U, one factor, several seeds")
        from semiemo.analysis.reproduce import render, spec_path
        from semiemo.tune.runner import run_sweep
        from semiemo.tune.space import load_spec

        spec = load_spec(spec_path("demo_sweep"))
        table = run_sweep(spec, address=address, storage_dir=out / "sweeps", resume=False, verbose=0)
        rendered = render(spec, table, out_dir=out / "sweep")
        fig = Path(rendered["figure"]).relative_to(out)
        finished = int(table.loc[table["test_ua"].notna(), "trial_id"].nunique())  # ASHA-stopped trials have no test rows
        report.add("5. Sweep", f"`search_spaces/demo_sweep.yaml`: MixMatch's λ_U alone, on a grid of "
                   f"{len(spec.parameters['method_params.unsup_weight'].grid or [])} points × {len(spec.seeds)} seeds "
                   f"({finished} trials finished). Its outcome comes with the premises it rests on and the smallest "
                   f"difference this sweep could detect (in the report below the figure); a demo-sized sweep is not "
                   f"evidence about paper 000. {rendered['verdict']}\n\n![sweep]({fig})\n\nReport: "
                   f"`{Path(rendered['report']).relative_to(out)}`; TensorBoard HParams: "
                   f"`tensorboard --logdir {out / 'sweeps' / spec.name / 'tensorboard'}`")
        console.print(rendered["verdict"])
        report.timings["sweep"] = time.perf_counter() - t0

    log_file = ray_log_file()
    report.add("Logs", (f"Ray's own log lines: `{log_file.relative_to(out)}`. " if log_file else "")
               + f"Ray workers' stdout/stderr, raylet and GCS logs: `{session_logs_dir() or 'n/a'}`.")
    path = report.write()
    console.rule("[bold green]demo finished")
    console.print(f"report: {path}")
    if log_file:
        console.print(f"Ray's logs: {log_file} (semiemo demo -v shows them in the terminal)")
    return path
