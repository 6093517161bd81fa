"""Visual pseudo-labels of paper 003 §3.2 (CMKT): a FER teacher's frame outputs -> a class distribution.

Track level: p̄ = (1/K) Σ_k q_k over the real frames (one every 0.24 s), renormalised -> p̃ᵛ.
The 7 FER classes (RAF-DB, `schema.FER_CLASSES`) reach the task's classes by name:
- 3-class sentiment (CH-SIMS), paper 003 Table 2: Neutral -> neutral; Surprise, Happiness -> positive;
  Fear, Sadness, Anger, Disgust -> negative; the soft label sums each group (spec 003 §5.8);
- 4-class (IEMOCAP), "only select four categories": a clip is kept when its 7-class visual argmax is
  one of the four, and p̃ᵛ is restricted to them and renormalised (spec 003 §5.19);
- any other class set whose names are all FER classes: the same restriction.
The source of the frames is the `fer` feature group: the manifest's `fer_probs` (synthetic), one
.npy of frame probabilities per utterance (`visual_path`, see features.visual), or, for a user FER
checkpoint, `fer_probabilities_from_checkpoint` below run over face crops to write those .npy files.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from semiemo.corpora.schema import FER_CLASSES, TABLE2_SENTIMENT
from semiemo.models.masking import valid_frames

SENTIMENT_CLASSES = ("negative", "neutral", "positive")


def track_probabilities(frames: torch.Tensor, lengths: torch.Tensor | None = None, pad_side: str = "end") -> torch.Tensor:
    """[B, K, 7] frame probabilities -> [B, 7]: the mean over real frames, renormalised to sum 1."""
    if frames.dim() != 3 or frames.shape[-1] != len(FER_CLASSES):
        raise ValueError(f"FER frames must be [B, K, {len(FER_CLASSES)}] probabilities, got {tuple(frames.shape)}")
    frames = frames.float().clamp_min(0.0)
    if lengths is None:
        mean = frames.mean(dim=1)
    else:
        mask = valid_frames(lengths, frames.shape[1], pad_side).to(frames.dtype).unsqueeze(2)
        mean = (frames * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
    return mean / mean.sum(dim=1, keepdim=True).clamp_min(1e-12)


def fer_to_task_matrix(class_names: Sequence[str]) -> tuple[torch.Tensor, str]:
    """[7, C] 0/1 matrix from FER classes to the task's classes, and the mapping's kind.

    kind "sentiment": Table 2 groups (sum); kind "restrict": a subset of the FER classes.
    """
    names = [str(c).lower() for c in class_names]
    if not names:
        raise ValueError("visual pseudo-labels need the task's class names (ModelSpec.class_names is empty)")
    if set(names) <= set(SENTIMENT_CLASSES):
        m = torch.zeros(len(FER_CLASSES), len(names))
        for i, fer in enumerate(FER_CLASSES):
            if TABLE2_SENTIMENT[fer] in names:
                m[i, names.index(TABLE2_SENTIMENT[fer])] = 1.0
        return m, "sentiment"
    if set(names) <= set(FER_CLASSES):
        m = torch.zeros(len(FER_CLASSES), len(names))
        for j, c in enumerate(names):
            m[FER_CLASSES.index(c), j] = 1.0
        return m, "restrict"
    raise ValueError(f"cannot map FER classes {list(FER_CLASSES)} to the task's classes {names}: use the 3 sentiment "
                     f"classes {list(SENTIMENT_CLASSES)} (paper 003 Table 2) or a subset of the FER classes "
                     f"(e.g. a label_map onto neutral/happiness/sadness/anger)")


def visual_class_probabilities(track: torch.Tensor, matrix: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """p̃ᵛ [B, C] in the task's classes and keep [B] bool (False: the 4-class filter drops the clip)."""
    probs = track @ matrix.to(track.device, track.dtype)
    if kind == "sentiment":
        keep = torch.ones(track.shape[0], dtype=torch.bool, device=track.device)
    else:
        keep = matrix.to(track.device).sum(dim=1)[track.argmax(dim=1)] > 0  # 7-class argmax among the kept classes
    probs = probs / probs.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return probs, keep


def fer_probabilities_from_checkpoint(checkpoint: str, face_crops: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Run a user's FER model (a TorchScript file over [K, 3, H, W] face crops, 7 outputs in FER_CLASSES
    order) and return [K, 7] frame probabilities, to be saved as the utterance's .npy."""
    model = torch.jit.load(checkpoint, map_location="cpu").eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(face_crops), batch_size):
            logits = model(face_crops[start:start + batch_size].float())
            if logits.dim() != 2 or logits.shape[1] != len(FER_CLASSES):
                raise ValueError(f"FER checkpoint {checkpoint!r} returned shape {tuple(logits.shape)}; expected "
                                 f"[K, {len(FER_CLASSES)}] logits in the order {list(FER_CLASSES)}")
            outs.append(logits.softmax(dim=1))
    return torch.cat(outs) if outs else torch.zeros(0, len(FER_CLASSES))
