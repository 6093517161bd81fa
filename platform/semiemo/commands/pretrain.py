"""`semiemo pretrain`: paper 004's front-end pre-training on an unlabeled wild corpus -> a keyed
front-end in the store, which `semiemo train --method avspnet --set frontend=<key>` loads."""

from __future__ import annotations

from typing import Optional

import typer


def pretrain(
    corpus: Optional[str] = typer.Option(None, help="wild corpus spec (needs speaker, text); default: paper 004's stand-in, methods.avspnet.PRETRAIN_CORPUS (240 utterances, 12 speakers, transcripts with an emotion word 80 % of the time)"),
    recipe: str = typer.Option("AV-SpNET_a", help="W_a, W_v, AE, W_AE_a, W_AE_v, AV-SpNET_a, AV-SpNET_v (paper 004 Table 2)"),
    alpha: float = typer.Option(0.5, help="α of eq. 7 (AV-SpNET recipes)"),
    epochs: int = typer.Option(10),
    batch_size: int = typer.Option(32, help="paper 004: 32"),
    lr: float = typer.Option(1e-3, help="paper 004: Adam 0.001"),
    seed: int = typer.Option(0),
    channels: int = typer.Option(32, help="conv kernels per layer (paper 004: 32)"),
    pool_size: int = typer.Option(2, help="max-pool size (spec §5.2: 2)"),
    dictionaries: str = typer.Option("en_small,vader", help="polarity dictionaries: names or JSON/TSV paths"),
    tokenizer: str = typer.Option("english", help="english | chinese (jieba)"),
    workers: int = typer.Option(1, help="Ray Train DDP workers"),
    cpus_per_worker: float = typer.Option(1.0),
    no_ray: bool = typer.Option(False, "--no-ray", help="train in this process instead of a Ray Train job"),
    feature_store: Optional[str] = typer.Option(None, help="store root (default $SEMIEMO_FEATURE_STORE)"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: RAY_ADDRESS or local)"),
) -> None:
    """Pre-train one front-end and print its key (the same recipe again finds the stored one)."""
    import os

    from semiemo.recipes.avspnet_pretrain import PretrainConfig, pretrain_frontend

    if address:
        os.environ["RAY_ADDRESS"] = address
    from semiemo.methods.avspnet import PRETRAIN_CORPUS

    cfg = PretrainConfig(corpus=corpus or PRETRAIN_CORPUS, recipe=recipe, alpha=alpha, epochs=epochs, batch_size=batch_size, lr=lr,
                         seed=seed, channels=channels, pool_size=pool_size, dictionaries=[d for d in dictionaries.split(",") if d], tokenizer=tokenizer,
                         workers=workers, cpus_per_worker=cpus_per_worker, use_ray=not no_ray, feature_store=feature_store)
    key, _summary = pretrain_frontend(cfg)
    print(f"front-end key: {key}")
    print(f"fine-tune with: semiemo train --method avspnet --features avsp --set frontend={key}")


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain)
