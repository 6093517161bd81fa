"""A sweep's pre-trained front-ends made as parallel Ray tasks before its trials start.

Paper 004's sweep asks for one front-end per (recipe, seed): 8 recipes x 3 seeds at full budget. Made
one after another on the driver, every Ray worker sat idle meanwhile (the driver at ~1 core, the
cluster's other nodes unused). Here the driver does only what must happen once and in one place:

1. featurize each distinct wild corpus (Ray Data). A task holding a CPU that featurized would wait for
   CPUs the trials' own featurizing tasks need, so this runs first, on the driver;
2. dedupe the requests by their store key (`PretrainConfig.key(manifest hash)`), skipping keys already
   stored: `_lock` in the recipe is a file lock on one machine, it cannot keep two nodes from training
   the same key, so one key -> one task;
3. launch one task per missing key, each reserving the trial's CPUs and retried by Ray when its worker
   dies (`max_retries`); it reads the stored features (`stored_only`: a missing block raises, it never
   starts Ray Data) and trains in process. A line per finished front-end says which and how long.

Requests of another kind, or that name a stored key, go through `recipes.pretrained.resolve` as before.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from semiemo.recipes.avspnet_pretrain import PretrainConfig, featurize_pretrain_corpus, recipe_config, train_recipe
from semiemo.recipes.pretrained import resolve

MAX_RETRIES = 3  # a worker that died (OOM, lost node) is retried; an exception in the recipe is not


def pretrain_recipe_task(cfg: dict[str, Any], cpus: float) -> dict[str, Any]:
    """Body of one Ray task: train one front-end from stored features; a record of where and how long."""
    import torch

    torch.set_num_threads(max(1, int(cpus)))
    record = train_recipe(PretrainConfig.model_validate(cfg), stored_only=True, log=lambda *_: None)
    return {**record, "pid": os.getpid()}


def pretrain_in_tasks(requests: Iterable[tuple[dict[str, Any], int]], *, cpus: float = 1.0,
                      store_root: str | None = None, address: str | None = None,
                      log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Make every (request, seed)'s weights; returns one record per distinct recipe key
    ({key, recipe, seed, trained, seconds, pid}; `trained` False and pid None where the store had it)."""
    configs: dict[str, PretrainConfig] = {}
    hashes: dict[tuple[str, str | None], str] = {}
    for request, seed in requests:
        if request.get("kind") != "avspnet_frontend":
            resolve(request, seed=seed, store_root=store_root)   # unknown kinds raise there, naming the known ones
            continue
        cfg = recipe_config(request, seed, store_root)
        if cfg is None:  # a stored key: nothing to make
            continue
        corpus = (cfg.corpus, cfg.feature_store)
        if corpus not in hashes:  # each wild corpus featurized once, here
            hashes[corpus] = featurize_pretrain_corpus(cfg, address)
        configs.setdefault(cfg.key(hashes[corpus]), cfg)
    from semiemo.train.pretrained import PretrainedStore

    records = [{"key": key, "recipe": cfg.recipe, "seed": cfg.seed, "trained": False, "seconds": 0.0, "pid": None}
               for key, cfg in configs.items() if PretrainedStore(cfg.feature_store).exists(key)]
    missing = {key: cfg for key, cfg in configs.items() if not PretrainedStore(cfg.feature_store).exists(key)}
    if records:
        log(f"pre-trained front-ends: {len(records)} of {len(configs)} already stored")
    if missing:
        records += _run_tasks(missing, cpus, address, log)
    return records


def _run_tasks(configs: dict[str, PretrainConfig], cpus: float, address: str | None,
               log: Callable[[str], None]) -> list[dict[str, Any]]:
    import ray

    from semiemo.jobs.ray_runtime import init_ray

    init_ray(address)
    task = ray.remote(num_cpus=cpus, max_retries=MAX_RETRIES)(pretrain_recipe_task)
    started = time.perf_counter()
    pending = {task.remote(cfg.model_dump(), cpus): key for key, cfg in configs.items()}
    log(f"pre-training {len(pending)} front-ends as Ray tasks ({cpus:g} CPU each)")
    records: list[dict[str, Any]] = []
    failed: list[str] = []
    while pending:  # every task runs to its end: one recipe's failure leaves the others trained and stored
        [ref], _ = ray.wait(list(pending), num_returns=1)
        cfg = configs[pending.pop(ref)]
        try:
            record = {**ray.get(ref), "recipe": cfg.recipe, "seed": cfg.seed}
        except Exception as exc:  # noqa: BLE001 — reported with its recipe below, raised once all have ended
            failed.append(f"{cfg.recipe} seed {cfg.seed}: {type(exc).__name__}: {str(exc).strip().splitlines()[-1]}")
            log(f"front-end FAILED: {failed[-1]}")
            continue
        records.append(record)
        log(f"front-end {cfg.recipe} seed {cfg.seed}: {'trained' if record['trained'] else 'found'} in "
            f"{record['seconds']:.1f} s (pid {record['pid']}); {len(records) + len(failed)}/{len(configs)} done, "
            f"{time.perf_counter() - started:.0f} s elapsed")
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(configs)} front-ends failed to pre-train (the other "
                           f"{len(records)} are stored; a rerun trains only the missing ones):\n  " + "\n  ".join(failed))
    return records
