"""Why featurization falls short of `cores x` the one-core rate: the candidates side by side, in one Ray session.

    HEAVY_BOTH=1 /work/bin/heavy python bench/bench_parallel_efficiency.py [--rows 8192] [--serial-rows 512] [--cpus 2] [--blocks-per-task 4 1]

A. one task: the serial render -> melstats -> shard loop on `--serial-rows` utterances (the 500k bench's rate).
B. the same loop in `--cpus` tasks at once, each on its own rows: the rate the cores give in parallel with
   no pipeline around them. B below `cpus x A`: the cores slow each other (threads, caches, the host).
C. the pipeline (`features.pipeline.featurize`, `--cpus` workers) over `--rows` rows, once per `--blocks-per-task`
   (one task per block pays Ray Data's dispatch gap per block; several blocks per task pay it once).
Each task reports its CPU seconds (CPU > wall: it ran extra threads) and its native thread pools.
"""

from __future__ import annotations

import argparse
import tempfile


def show(name: str, r) -> None:
    ms = 1000 / r.rows
    print(f"{name}: {r.rows} rows, render {ms * r.render_s:.2f} ms/utt, featurize {ms * r.featurize_s:.2f} ms/utt, "
          f"write {ms * r.write_s:.2f} ms/utt = {r.rows_per_s:.1f} rows/s; CPU/wall {r.cpu_s / r.total_s:.2f}; "
          f"threads {r.threads}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--serial-rows", type=int, default=512)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--blocks-per-task", type=int, nargs="+", default=[4, 1],
                    help="pipeline runs, one per value, in this order (the first also pays the imports in its workers)")
    args = ap.parse_args()

    from semiemo.jobs.ray_runtime import init_ray, shutdown_ray
    from semiemo.scale.fit import steady_rate
    from semiemo.scale.measure import concurrent_rates, featurize_run, pool_manifest

    manifest, _ = pool_manifest(args.rows)
    init_ray(num_cpus=args.cpus)
    with tempfile.TemporaryDirectory() as d:
        a = concurrent_rates(manifest, d + "/scratch", rows=args.serial_rows, tasks=1)[0]
        show("A one task           ", a)
        b = concurrent_rates(manifest, d + "/scratch", rows=args.serial_rows, tasks=args.cpus)
        for i, r in enumerate(b):
            show(f"B {args.cpus} tasks at once, #{i}", r)
        runs = {k: featurize_run(manifest, f"{d}/store-{k}", workers=args.cpus, cpus_per_node=args.cpus,
                                 blocks_per_task=k) for k in args.blocks_per_task}
    b_sum = sum(r.rows_per_s for r in b)
    ideal = args.cpus * a.rows_per_s
    print(f"B/(cpus x A) {b_sum:.1f}/{ideal:.1f} = {b_sum / ideal:.3f} (the cores in parallel, no pipeline)", flush=True)
    for k, fm in runs.items():
        sm = fm.samples
        steady = steady_rate([x.t for x in sm], [x.rows_done for x in sm]) or 0.0
        wall = sm[-1].t - sm[0].t
        cpu = {g: getattr(sm[-1], f"cpu_{g}_s") - getattr(sm[0], f"cpu_{g}_s")
               for g in ("workers", "driver", "ray_other", "machine_other")}
        idle = args.cpus * wall - sum(cpu.values())
        print(f"C pipeline, {args.cpus} workers, {k} block(s) per task: {fm.rows_per_s:.1f} rows/s ({fm.rows} rows, "
              f"{fm.wall_s:.1f} s), steady {steady:.1f}; worker CPU {1000 * cpu['workers'] / fm.rows:.2f} ms/row "
              f"(A {1000 * a.cpu_s / a.rows:.2f}); CPU-s of {args.cpus * wall:.1f}: "
              + ", ".join(f"{g} {v:.1f}" for g, v in cpu.items()) + f", idle {idle:.1f}", flush=True)
        print(f"   ratios: C/(cpus x A) = {fm.rows_per_s / ideal:.3f} (steady {steady / ideal:.3f}; the target's ratio), "
              f"C/B = {fm.rows_per_s / b_sum:.3f} (steady {steady / b_sum:.3f}; what the pipeline itself costs)",
              flush=True)
    shutdown_ray()


if __name__ == "__main__":
    main()
