"""Where semiemo meets Ray's runtime: starting or joining Ray, routing its output, checking the cluster.

Ray is imported only here and in `features.pipeline`, `train/` and `tune/` (tests/test_ray_confined.py
holds that). Code elsewhere that needs Ray running, stopped or a few plain tasks calls a function of
this package: `ray_runtime` (start / join / stop Ray, the storage check against the cluster it joined),
`ray_logs` (Ray's output to a file), `local_cluster` (a multi-node Ray cluster on this machine),
`tasks` (a function run in Ray tasks). The `ray job submit` entrypoints live in the repository's
top-level `jobs/` folder and use these.
"""
