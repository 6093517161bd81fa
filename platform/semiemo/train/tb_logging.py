"""TensorBoard logging: every scalar the loop reports, per epoch, and the confusion matrix as an image.

Scalars arrive already named by where they come from (`train/<loss>`, `val/<metric>`), so whatever a
method's `train_step` returns shows up without the logger knowing the method.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


def confusion_figure(confusion: Sequence[Sequence[int]], class_names: Sequence[str] | None = None, title: str = ""):
    """A matplotlib figure of a confusion matrix (rows: truth, columns: prediction), counts annotated."""
    cm = np.asarray(confusion, dtype=np.int64)
    names = list(class_names) if class_names else [str(i) for i in range(len(cm))]
    size = 1.2 + 0.6 * len(cm)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(cm)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = cm.max() if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > top / 2 else "black")
    fig.tight_layout()
    return fig


class TensorBoardLogger:
    """One SummaryWriter per (seed, fold) run directory."""

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def log_epoch(self, epoch: int, scalars: dict[str, float], confusion=None, class_names=None) -> None:
        for tag, value in scalars.items():
            if tag != "epoch":
                self.writer.add_scalar(tag, float(value), global_step=epoch)
        if confusion is not None:
            self.log_confusion("val/confusion", confusion, class_names, epoch)

    def log_confusion(self, tag: str, confusion, class_names=None, step: int = 0) -> None:
        fig = confusion_figure(confusion, class_names, title=f"{tag} (step {step})")
        self.writer.add_figure(tag, fig, global_step=step, close=True)

    def log_final(self, test_metrics: dict, class_names=None, step: int = 0) -> None:
        for k, v in test_metrics.items():
            if isinstance(v, (int, float)):
                self.writer.add_scalar(f"test/{k}", float(v), global_step=step)
        if "confusion" in test_metrics:
            self.log_confusion("test/confusion", test_metrics["confusion"], class_names, step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()

    def __enter__(self) -> "TensorBoardLogger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
