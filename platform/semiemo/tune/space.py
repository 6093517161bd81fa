"""A search-space YAML (one file per analysis), validated at load and translated to a Ray Tune space.

Why a file per analysis: each of the papers' hyperparameter figures (λ_U, T, τ, unlabeled quantity,
normalization, ...) becomes one reviewable, diffable file holding the base experiment, the swept
parameters (a distribution for Optuna/TPE or the paper's own grid points), the objective, the
scheduler and the resources, plus which rows of `paper_results.csv` it is compared with.

    name: mmmd_lambda_u
    paper: "000 Fig. 5a"
    experiment: {method: mixmatch, corpus: synthetic, features: [egemaps], train: {epochs: 8}}
    parameters:
      method_params.lambda_u: {grid: [0, 0.001, 0.01, 0.1, 1, 10], scale: symlog}
    seeds: [0, 1, 2]
    metric: val_ua
    mode: max

A parameter path addresses a field of `ExperimentConfig`: a top-level field (`label_fraction`,
`unlabeled_quantity`, `normalization`, `method`), a nested one (`train.lr`, `protocol.folds`), or a
method hyperparameter (`method_params.<field of the method's HParams>`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from semiemo.train.config import ExperimentConfig, ProtocolConfig, TrainConfig

DISTRIBUTIONS = ("loguniform", "uniform", "int", "choice", "grid")
PARAMETER_KEYS = (*DISTRIBUTIONS, "scale", "label")
WHOLE_POOL = "all"  # grid value of `unlabeled_quantity` meaning "the whole unlabeled pool" (None in the config)
ARM = "arm"  # the parameter that picks one of `SearchSpace.arms`
SHAPES = ("peak_interior", "increasing", "decreasing", "best_at", "series_order", "none")


class SpecError(ValueError):
    """A search-space file is wrong; the message names the file, the key and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Parameter(_Strict):
    """One swept parameter: exactly one of the distributions, plus how to draw it on a figure."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    loguniform: tuple[float, float] | None = None  # [low, high], low > 0
    uniform: tuple[float, float] | None = None     # [low, high]
    int_: tuple[int, int] | None = Field(default=None, alias="int")  # [low, high], both inclusive
    choice: list[Any] | None = None                # sampled categorical (Optuna)
    grid: list[Any] | None = None                  # every point, as in the paper's figure
    scale: Literal["linear", "log", "symlog", "category"] = "linear"  # x axis of the figure
    label: str | None = None                       # axis label, e.g. "λ_U"

    @model_validator(mode="after")
    def _exactly_one(self) -> "Parameter":
        given = [d for d in DISTRIBUTIONS if self._get(d) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one distribution of {list(DISTRIBUTIONS)}; got {given or 'none'}")
        lo_hi = self.loguniform or self.uniform or self.int_
        if lo_hi is not None and not lo_hi[0] < lo_hi[1]:
            raise ValueError(f"{given[0]} needs low < high; got {list(lo_hi)}")
        if self.loguniform is not None and self.loguniform[0] <= 0:
            raise ValueError("loguniform needs low > 0 (use `grid` to include 0, as in paper 000 Fig. 5a)")
        values = self.grid if self.grid is not None else self.choice
        if values is not None and not values:
            raise ValueError(f"{given[0]} needs at least one value")
        return self

    def _get(self, distribution: str) -> Any:
        return getattr(self, "int_" if distribution == "int" else distribution)

    @property
    def kind(self) -> str:
        return next(d for d in DISTRIBUTIONS if self._get(d) is not None)

    @property
    def is_grid(self) -> bool:
        return self.grid is not None

    def to_tune(self) -> Any:
        """The Ray Tune domain for this parameter."""
        from ray import tune

        if self.grid is not None:
            return tune.grid_search(list(self.grid))
        if self.choice is not None:
            return tune.choice(list(self.choice))
        if self.loguniform is not None:
            return tune.loguniform(*self.loguniform)
        if self.uniform is not None:
            return tune.uniform(*self.uniform)
        return tune.randint(self.int_[0], self.int_[1] + 1)  # type: ignore[index]  # randint's high is exclusive

    def values_for_record(self) -> list[Any] | None:
        """The discrete values (grid/choice), for Optuna's categorical distribution and TensorBoard."""
        return list(self.grid if self.grid is not None else (self.choice or [])) or None


class Scheduler(_Strict):
    """ASHA stops weak trials early (by `training_iteration` = reported epochs); FIFO runs all to the end."""

    kind: Literal["fifo", "asha"] = "fifo"
    grace_period: int = 2          # epochs every trial gets before it can be stopped
    reduction_factor: float = 3.0  # η: keep the top 1/η at each rung
    max_t: int | None = None       # default: epochs × seeds + 1 (the final report)


class Resources(_Strict):
    cpu: float = 1.0   # fractional CPUs pack several small trials on one core
    gpu: float = 0.0


class ShapeClaim(_Strict):
    """What the paper's curve looks like, tested on our mean curve (see `analysis.reproduce.shape_verdict`)."""

    # series_order: the series (e.g. methods), ranked by their mean over x, against the paper's
    # ranking of the same names (the `method` of the matched rows, mean of their values)
    # beats_baseline: every x other than `value` (the baseline, e.g. supervised) beats it, paired by seed and
    # fold, with a 95 % CI over ≥ `min_seeds` seeds that excludes 0 (the SSL positive control)
    # recovers_gap: the arm `value` recovers ≥ `share` of the label gap between the supervised arm at its
    # label fraction and the supervised arm `high` (100 % labels), 95 % CI over ≥ `min_seeds` seeds above 0
    # (`analysis.gap_recovery`)
    kind: Literal["peak_interior", "increasing", "decreasing", "best_at", "series_order", "beats_baseline",
                  "recovers_gap", "none"] = "none"
    value: Any = None       # best_at: the x the paper finds best (or picks as its default); beats_baseline: the baseline
    min_seeds: int = 5      # beats_baseline: seeds the CI needs
    near: Any = None        # peak_interior: the paper's peak, reported beside ours
    high: str | None = None  # recovers_gap: the supervised arm at 100 % labels (the top of the gap)
    share: float = 0.3       # recovers_gap: the share of the gap the arm must recover
    description: str = ""   # the paper's words, for the report


class RowFilter(_Strict):
    """Rows of paper_results.csv: every given field must match (strings: case-insensitive substring,
    lists: any of them exactly; `paper` "000" matches the file column "000_....txt")."""

    paper: str | None = None
    source: str | list[str] | None = None   # e.g. "Fig. 5(a)"
    dataset: str | None = None
    task: str | None = None
    setting: str | None = None
    method: str | list[str] | None = None
    modality: str | None = None
    metric: str | None = None


class Reference(_Strict):
    """Which rows of paper_results.csv this analysis reproduces (a row matching any filter), and the
    curve shape the paper reports, tested on our mean curve (see `analysis.reproduce.shape_verdict`)."""

    rows: list[RowFilter] = Field(default_factory=list)
    shape: ShapeClaim = Field(default_factory=ShapeClaim)


class Premise(_Strict):
    """A condition the paper's claim rests on, measured on the sweep's results (see `analysis.premises`).

    When a premise fails the outcome is *not tested* (its measured value named), never *not reproduced*;
    when `distinguishable` fails it is *undetermined*. A YAML premise of the same `kind` as one of the generic
    set (applied to every semi-supervised arm without being declared) replaces it."""

    kind: Literal["unlabeled_active", "selected_after_rampup", "teacher_informative", "label_gap",
                  "distinguishable", "column"]
    threshold: float | None = None   # the bar; default per kind (analysis.premises.DEFAULT_THRESHOLD)
    column: str | None = None        # teacher_informative / column: the results column measured
    stat: Literal["mean", "median", "min", "max"] = "mean"   # column: how its runs are summarised
    op: Literal[">=", "<="] = ">="   # column: the side of the threshold that holds
    where: dict[str, Any] = Field(default_factory=dict)   # measured on rows matching column -> value (or list)
    high: dict[str, Any] = Field(default_factory=dict)    # label_gap: rows of the labeled upper bound
    low: dict[str, Any] = Field(default_factory=dict)     # label_gap: rows of the scarce-label point
    description: str = ""            # why the paper's claim needs it


class Plot(_Strict):
    kind: Literal["curve", "confusion"] = "curve"  # confusion: one row-normalised matrix per x value, pooled over seeds
    x: str | None = None               # default: the first parameter
    series: str | None = None          # a second parameter drawn as separate lines (e.g. method)
    metric: str | None = None          # results column; default: `metric` with "val_" turned into "test_"
    also: list[str] = Field(default_factory=list)  # more results columns shown (means) beside it, e.g. both macro-F1s
    loss_curves: list[str] = Field(default_factory=list)  # train/<tag> losses drawn per epoch from the TensorBoard
                                                          # logs of the last x point's trials (paper 001 Fig. 7b)


class Variant(_Strict):
    """Overrides applied for one corpus (e.g. `casia`): dotted paths into the spec -> values."""

    overrides: dict[str, Any] = Field(default_factory=dict)


class SearchSpace(_Strict):
    """A validated search-space file."""

    name: str
    paper: str = ""                    # e.g. "000 Fig. 5a"
    description: str = ""
    experiment: dict[str, Any] = Field(default_factory=dict)  # base ExperimentConfig (validated below)
    parameters: dict[str, Parameter]
    seeds: list[int] = Field(default_factory=lambda: [0])  # grid sweeps: one trial per (point, seed)
    metric: str = "val_ua"             # what Tune/Optuna optimise; reported every epoch
    mode: Literal["max", "min"] = "max"
    num_samples: int = 1               # Optuna trials; for grids, repeats of the whole grid
    search: Literal["auto", "optuna", "grid"] = "auto"
    sampler_seed: int = 0              # TPE seed
    scheduler: Scheduler = Field(default_factory=Scheduler)
    resources_per_trial: Resources = Field(default_factory=Resources)
    max_concurrent_trials: int | None = None
    reference: Reference = Field(default_factory=Reference)
    plot: Plot = Field(default_factory=Plot)
    premises: list[Premise] = Field(default_factory=list)  # measured conditions of the claim (analysis.premises)
    quick: dict[str, Any] = Field(default_factory=dict)       # overrides for `--budget quick` (`--quick`)
    paper_budget: dict[str, Any] = Field(default_factory=dict)  # `--budget paper`: overrides on top of _default_paper
    in_all: bool = True                # run by `reproduce --all` (false: e.g. the demo's own sweep)
    fallback_variant: str | None = None  # `--all`: the variant run instead when the base corpus is absent (said in the report)
    variants: dict[str, Variant] = Field(default_factory=dict)  # e.g. {casia: {overrides: {...}}}
    # A table of methods (e.g. paper 003 Table 3): named experiment variants, each a mapping of
    # ExperimentConfig paths (dotted) -> values over `experiment`; the parameter `arm` picks one.
    arms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    _source_path: str | None = PrivateAttr(default=None)

    @property
    def source_path(self) -> str | None:
        """The YAML file this spec came from (None when built from a dict)."""
        return self._source_path

    # --- derived --------------------------------------------------------------------------------
    @property
    def search_kind(self) -> str:
        if self.search != "auto":
            return self.search
        return "grid" if all(p.is_grid for p in self.parameters.values()) else "optuna"

    @property
    def x_param(self) -> str:
        return self.plot.x or next(iter(self.parameters))

    @property
    def plot_metric(self) -> str:
        return self.plot.metric or ("test_" + self.metric[4:] if self.metric.startswith("val_") else self.metric)

    def base_config(self) -> ExperimentConfig:
        return ExperimentConfig.model_validate({"name": self.name, **self.experiment})

    # --- validation that needs the whole file ----------------------------------------------------
    @model_validator(mode="after")
    def _check_whole(self) -> "SearchSpace":
        if not self.parameters:
            raise ValueError("`parameters` is empty; give at least one parameter to sweep")
        grids = [k for k, p in self.parameters.items() if p.is_grid]
        samples = [k for k, p in self.parameters.items() if not p.is_grid]
        if grids and samples:
            raise ValueError(
                f"parameters mix grid {grids} with sampled {samples}; Optuna cannot search a grid — "
                "use `choice` for the discrete ones, or `grid` for all")
        if self.search == "grid" and samples:
            raise ValueError(f"search: grid needs every parameter as `grid`; sampled: {samples}")
        if self.search == "optuna" and grids:
            raise ValueError(f"search: optuna cannot take `grid` parameters {grids}; use `choice`")
        if self.plot.x and self.plot.x not in self.parameters:
            raise ValueError(f"plot.x {self.plot.x!r} is not a parameter; parameters: {sorted(self.parameters)}")
        if self.plot.series and self.plot.series not in self.parameters:
            raise ValueError(f"plot.series {self.plot.series!r} is not a parameter; parameters: {sorted(self.parameters)}")
        if not self.seeds:
            raise ValueError("`seeds` is empty; give at least one seed")
        if ARM in self.parameters:
            if not self.arms:
                raise ValueError("parameter `arm` needs an `arms:` mapping of arm name -> experiment overrides")
            unknown = [v for v in (self.parameters[ARM].values_for_record() or []) if str(v) not in self.arms]
            if unknown:
                raise ValueError(f"parameter `arm` names {unknown}, which are not in `arms`; arms: {sorted(self.arms)}")
        return self


# --- parameter paths ---------------------------------------------------------------------------------
_NESTED = {"train": TrainConfig, "protocol": ProtocolConfig}
_NOT_SWEEPABLE = {"name", "seeds", "output_dir", "train", "protocol", "method_params"}


# fields only the analysis or the run selection reads: changing them (a premise, the paper's numbers, a
# figure's axis, another budget's or corpus's overlay, already applied) leaves every trial's answer as it was
ANALYSIS_ONLY_FIELDS = ("paper", "description", "reference", "plot", "premises", "quick", "paper_budget", "in_all",
                        "fallback_variant", "variants", "max_concurrent_trials")


def trial_definition(spec: SearchSpace | dict[str, Any]) -> dict[str, Any]:
    """What decides the sweep's trials and their results: the spec without `ANALYSIS_ONLY_FIELDS`. A sweep
    restores its finished trials while this is unchanged (a premise or a reference row edited re-analyses
    them), and starts over when it changed."""
    raw = spec.model_dump(mode="json", by_alias=True) if isinstance(spec, SearchSpace) else dict(spec)
    return {k: v for k, v in raw.items() if k not in ANALYSIS_ONLY_FIELDS}


def sweepable_paths(method: str | None) -> list[str]:
    """Every parameter path a spec may sweep for `method` (method hyperparameters when it is registered)."""
    paths = [f for f in ExperimentConfig.model_fields if f not in _NOT_SWEEPABLE]
    for group, model in _NESTED.items():
        paths += [f"{group}.{f}" for f in model.model_fields]
    hp = _method_hparam_names(method)
    paths += [f"method_params.{f}" for f in (hp or [])]
    return paths


def _method_hparam_names(method: str | None) -> list[str] | None:
    if not method:
        return None
    from semiemo.methods.registry import get_method

    cls = get_method(method)
    hp = getattr(cls, "HParams", None)
    if hp is None or not dataclasses.is_dataclass(hp):
        return []
    return [f.name for f in dataclasses.fields(hp)]


def _check_path(path: str, methods: list[str]) -> str | None:
    """None when `path` addresses a config field for every method; else why not."""
    head, _, tail = path.partition(".")
    if head == "method_params":
        if not tail:
            return "method_params needs a field: method_params.<name>"
        for m in methods:
            names = _method_hparam_names(m)
            if names is not None and tail not in names:
                return f"method {m!r} has no hyperparameter {tail!r}; allowed: {sorted(names)}"
        return None
    if head in _NESTED:
        allowed = sorted(_NESTED[head].model_fields)
        return None if tail in allowed else f"allowed under {head}.: {allowed}"
    if tail:
        return f"{head!r} has no sub-fields; allowed: {sorted(sweepable_paths(None))} or method_params.<name>"
    allowed = sorted(f for f in ExperimentConfig.model_fields if f not in _NOT_SWEEPABLE)
    return None if head in allowed else f"allowed: {allowed} or train.<field>, protocol.<field>, method_params.<field>"


# --- loading -------------------------------------------------------------------------------------------
BUDGETS = ("quick", "full", "paper")


def load_spec(path: str | Path, *, corpus: str | None = None, quick: bool = False,
              unlabeled: str | None = None, budget: str | None = None) -> SearchSpace:
    """Read and validate a search-space YAML; `corpus` picks a variant (e.g. casia), `budget` the size:
    `quick` (the file's `quick:` overrides; `quick=True` says the same), `full` (the file as written) or
    `paper` (the papers' own sizes: `_default_paper`, then the file's `paper_budget:` over it — where `full`
    is sized for a CPU, the paper's architecture lives there); `unlabeled` adds an external
    unlabeled pool (`experiment.unlabeled`; the name gets `+pool`)."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such search-space file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    return spec_from_dict(raw, source=str(path), corpus=corpus, quick=quick, unlabeled=unlabeled, budget=budget)


def spec_from_dict(raw: dict[str, Any], *, source: str = "<dict>", corpus: str | None = None,
                   quick: bool = False, unlabeled: str | None = None, budget: str | None = None) -> SearchSpace:
    if budget is not None and budget not in BUDGETS:
        raise SpecError(f"unknown budget {budget!r}; choose one of {', '.join(BUDGETS)}")
    if quick and budget not in (None, "quick"):
        raise SpecError(f"quick=True contradicts budget={budget!r}")
    quick = quick or budget == "quick"
    paper = budget == "paper"
    raw = copy.deepcopy(raw)
    _precheck_parameters(raw, source)
    spec = _validate(raw, source)
    if corpus:
        raw = _apply_variant(raw, spec, corpus, source)
    if quick:
        raw = apply_overrides(raw, spec.quick or _default_quick(spec), source, "quick")
    if paper:
        raw = apply_overrides(raw, {**_default_paper(spec), **spec.paper_budget}, source, "paper_budget")
    if unlabeled:
        from semiemo.corpora.unlabeled_pool import spec_slug

        raw.setdefault("experiment", {})["unlabeled"] = unlabeled
        raw["name"] = f"{raw.get('name', spec.name)}+{spec_slug(unlabeled, 24)}"
    if corpus or quick or paper or unlabeled:
        spec = _validate(raw, source)
    _check_semantics(spec, source)
    spec._source_path = source
    return spec


def _validate(raw: dict[str, Any], source: str) -> SearchSpace:
    try:
        return SearchSpace.model_validate(raw)
    except ValidationError as e:
        raise SpecError(_explain(e, source)) from None


def _explain(e: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid search space"]
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parent = _model_at(err["loc"][:-1])
            allowed = sorted(parent.model_fields) if parent is not None else []
            if parent is Parameter:
                lines.append(f"  {loc}: unknown key {err['loc'][-1]!r}; allowed distributions: "
                             f"{list(DISTRIBUTIONS)}; other keys: ['label', 'scale']")
            else:
                lines.append(f"  {loc}: unknown key {err['loc'][-1]!r}; allowed: {allowed}")
        else:
            lines.append(f"  {loc or '(top level)'}: {err['msg']}")
    return "\n".join(lines)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `loc` (for listing its allowed keys)."""
    model: Any = SearchSpace
    i = 0
    while i < len(loc):
        field = model.model_fields.get(str(loc[i])) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        ann = field.annotation
        if model is SearchSpace and loc[i] == "parameters":
            model, i = Parameter, i + 2   # parameters.<path>
            continue
        if model is SearchSpace and loc[i] == "variants":
            model, i = Variant, i + 2
            continue
        model, i = ann, i + 1
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _precheck_parameters(raw: dict[str, Any], source: str) -> None:
    """A misspelled distribution gets its own message before pydantic's generic one."""
    params = raw.get("parameters")
    if params is None:
        raise SpecError(f"{source}: missing key 'parameters'; give a mapping of parameter path -> distribution")
    if not isinstance(params, dict):
        raise SpecError(f"{source}: parameters: expected a mapping of parameter path -> distribution")
    for path, p in params.items():
        if not isinstance(p, dict):
            raise SpecError(f"{source}: parameters.{path}: expected a mapping with one of {list(DISTRIBUTIONS)}, "
                            f"e.g. {{grid: [0.1, 1.0]}}; got {p!r}")
        unknown = [k for k in p if k not in PARAMETER_KEYS]
        if unknown:
            raise SpecError(f"{source}: parameters.{path}: unknown distribution {unknown[0]!r}; "
                            f"allowed: {list(DISTRIBUTIONS)} (plus 'scale', 'label')")


def _check_semantics(spec: SearchSpace, source: str) -> None:
    try:
        base = spec.base_config()
    except ValidationError as e:
        msgs = "; ".join(f"experiment.{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        hint = ""
        if any(x["type"] == "extra_forbidden" for x in e.errors()):
            hint = f" (allowed experiment keys: {sorted(ExperimentConfig.model_fields)})"
        raise SpecError(f"{source}: {msgs}{hint}") from None
    methods = [base.method]
    if ARM in spec.parameters:
        methods = sorted({str(spec.arms[str(a)].get("method", base.method)) for a in spec.parameters[ARM].grid or []})
    elif "method" in spec.parameters:
        methods = [str(v) for v in (spec.parameters["method"].values_for_record() or [])]
    try:
        for m in methods:
            _method_hparam_names(m)
    except KeyError as e:
        raise SpecError(f"{source}: experiment.method: {e.args[0]}") from None
    for path in spec.parameters:
        if path == ARM:
            continue
        why = _check_path(path, methods)
        if why:
            raise SpecError(f"{source}: parameters.{path}: not a sweepable parameter; {why}")
    for path, p in spec.parameters.items():
        for v in p.values_for_record() or []:
            try:
                cfg = experiment_config(spec, {path: v}, seed=spec.seeds[0])
                if path == ARM:  # an arm's hyperparameters belong to its own method
                    from semiemo.methods.base import hparams_from_dict
                    from semiemo.methods.registry import get_method

                    hp_cls = getattr(get_method(cfg.method), "HParams", None)
                    if hp_cls is not None and dataclasses.is_dataclass(hp_cls):
                        hparams_from_dict(hp_cls, cfg.method_params)
            except (ValidationError, ValueError, TypeError) as e:
                first = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
                raise SpecError(f"{source}: parameters.{path}: value {v!r} is not valid: {first}") from None


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], source: str, what: str) -> dict[str, Any]:
    """Set dotted paths (e.g. `experiment.train.epochs`) in the raw spec dict."""
    raw = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        keys = dotted.split(".")
        if keys[0] == "parameters":  # parameter paths themselves contain dots: parameters.<path>
            keys = ["parameters", ".".join(keys[1:])]
        node = raw
        for k in keys[:-1]:
            nxt = node.setdefault(k, {})
            if not isinstance(nxt, dict):
                raise SpecError(f"{source}: {what} override {dotted!r}: {k!r} is not a mapping")
            node = nxt
        node[keys[-1]] = value
    return raw


def _apply_variant(raw: dict[str, Any], spec: SearchSpace, corpus: str, source: str) -> dict[str, Any]:
    key = corpus.split(":", 1)[0]
    variant = spec.variants.get(key)
    out = apply_overrides(raw, variant.overrides if variant else {}, source, f"variants.{key}")
    out.setdefault("experiment", {})["corpus"] = corpus if ":" in corpus or not variant else \
        variant.overrides.get("experiment.corpus", corpus)
    out["name"] = f"{spec.name}__{key}" if key != str(spec.base_config().corpus).split(":", 1)[0] else spec.name
    return out


def _default_quick(spec: SearchSpace) -> dict[str, Any]:
    """`--quick` without a `quick:` section: two seeds, few epochs, one fold."""
    epochs = spec.base_config().train.epochs
    return {"seeds": spec.seeds[:2], "experiment.train.epochs": min(epochs, 3),
            "experiment.protocol.max_folds": 1}


PAPER_EPOCHS = 50
PAPER_UNLABELED = 500_000


def _default_paper(spec: SearchSpace) -> dict[str, Any]:
    """`--budget paper` before the file's `paper_budget:` section: the papers' sizes — 50 epochs, every fold, and
    a synthetic unlabeled pool of 500k utterances where the analysis has a pool at all."""
    cfg = spec.base_config()
    out: dict[str, Any] = {"experiment.train.epochs": max(PAPER_EPOCHS, cfg.train.epochs),
                           "experiment.protocol.max_folds": None}
    corpus = str(cfg.corpus)
    if corpus.split(":", 1)[0] == "synthetic":
        import re

        if re.search(r"(?<![a-z_])(n_)?unlabeled=(\d+)", corpus):
            corpus = re.sub(r"(?<![a-z_])(n_)?unlabeled=(\d+)",
                            lambda m: m.group(0) if m.group(2) == "0" else f"{m.group(1) or ''}unlabeled={PAPER_UNLABELED}",
                            corpus)
        else:
            corpus += (":" if ":" not in corpus else ",") + f"unlabeled={PAPER_UNLABELED}"
        out["experiment.corpus"] = corpus
    return out


# --- translation ---------------------------------------------------------------------------------------
def to_param_space(spec: SearchSpace) -> dict[str, Any]:
    """The Ray Tune `param_space`: flat `{parameter path: domain}`, plus `seed` as a grid for grid sweeps.

    Flat keys with dots keep Tune's and Optuna's parameter names identical to the YAML's (what the
    dashboards show). Optuna sweeps run every seed inside each trial, so `seed` is not a dimension there.
    """
    from ray import tune

    space = {path: p.to_tune() for path, p in spec.parameters.items()}
    if spec.search_kind == "grid":
        space["seed"] = tune.grid_search(list(spec.seeds))
    return space


def experiment_config(spec: SearchSpace, params: dict[str, Any], seed: int | None = None) -> ExperimentConfig:
    """The `ExperimentConfig` of one trial: the base experiment with `params` set at their paths."""
    cfg = spec.base_config().model_dump()
    if ARM in params:
        arm = spec.arms.get(str(params[ARM]))
        if arm is None:
            raise ValueError(f"unknown arm {params[ARM]!r}; arms: {sorted(spec.arms)}")
        if "method" in arm and "method_params" not in arm:
            cfg["method_params"] = {}
        for dotted, value in arm.items():
            node = cfg
            keys = dotted.split(".")
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            node[keys[-1]] = copy.deepcopy(value)
    for path, value in params.items():
        if path in ("seed", ARM):
            continue
        if path == "unlabeled_quantity" and value == WHOLE_POOL:
            value = None
        if isinstance(value, float) and path.endswith(("epochs", "batch_size", "folds", "unlabeled_quantity")) \
                and math.isfinite(value) and value == int(value):
            value = int(value)
        head, _, tail = path.partition(".")
        if tail:
            cfg.setdefault(head, {})[tail] = value
        else:
            cfg[head] = value
    if "method" in params and "method_params" not in {p.partition(".")[0] for p in params if p != "method"}:
        cfg["method_params"] = dict(spec.experiment.get("method_params", {}))
    cfg["seeds"] = [seed] if seed is not None else list(spec.seeds)
    return ExperimentConfig.model_validate(cfg)


def grid_points(spec: SearchSpace) -> list[dict[str, Any]]:
    """Every combination of the parameters' discrete values (grid points or choices); [{}] when none."""
    import itertools

    names, values = [], []
    for name, p in spec.parameters.items():
        vals = p.values_for_record()
        if vals:
            names.append(name)
            values.append(list(vals))
    return [dict(zip(names, combo)) for combo in itertools.product(*values)] or [{}]


def trial_budget(spec: SearchSpace) -> int:
    """How many trials the sweep runs (grid points × seeds × num_samples, or num_samples)."""
    if spec.search_kind == "grid":
        n = 1
        for p in spec.parameters.values():
            n *= len(p.grid or [])
        return n * len(spec.seeds) * spec.num_samples
    return spec.num_samples
