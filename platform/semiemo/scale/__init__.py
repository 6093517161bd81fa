"""Scaling study: how featurization and training cost grow with rows, workers and nodes.

`measure` runs the real pipeline (synthetic pool rendered on Ray workers -> featurizer -> store ->
streamed training) at one size; `rss` samples driver and worker memory while it runs; `fit` turns
measurements into per-row slopes, fixed overheads and a projection; `report` writes Markdown + PNGs;
`study` is what `semiemo scale` runs. A scaling study is about Ray's workers and nodes, but Ray is
driven from here only through `semiemo.jobs` (start/stop, a local multi-node cluster, plain tasks).
"""
