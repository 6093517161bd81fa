"""Self-supervised speech representations (wav2vec 2.0 family) from a local model folder (paper 003).

`wav2vec` stores the frame sequence (20 ms per frame) padded/trimmed to T = 445 (paper 003's
t for Wav2Vec) with its `length`; `wav2vec_mean` stores the mean over frames. `layer` picks the
transformer layer (-1: last); `conv_features=True` takes the convolutional feature encoder's
output instead (512-d, the wav2vec 1.0-style d = 512 of paper 003).

The model is loaded only from `model_dir` (or $SEMIEMO_SSL_MODEL) with local_files_only=True:
there is no default model and nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from semiemo.features.base import FieldSpec
from semiemo.features.sequence import pad_or_trim

SSL_MODEL_ENV = "SEMIEMO_SSL_MODEL"


def default_ssl_model() -> str:
    return os.environ.get(SSL_MODEL_ENV, "")


def resolve_ssl_model_dir(model_dir: str) -> Path:
    path = Path(model_dir).expanduser() if model_dir else None
    if path is None or not (path / "config.json").is_file():
        where = f"{str(path)!r} has no config.json" if path else "no model folder is configured"
        raise FileNotFoundError(
            f"self-supervised speech model: {where}. Put a local copy of a wav2vec 2.0 model folder "
            f"(config.json + weights, e.g. from `huggingface-cli download facebook/wav2vec2-base` on a "
            f"machine with internet) somewhere readable and set the featurizer config field `model_dir` "
            f"or the environment variable {SSL_MODEL_ENV}. semiemo never downloads models."
        )
    return path


@dataclass(frozen=True)
class SSLSpeechConfig:
    model_dir: str = field(default_factory=default_ssl_model, metadata={"doc": "local wav2vec2 model folder"})
    layer: int = field(default=-1, metadata={"doc": "hidden_states index: 0 = transformer input, -1 = last layer"})
    conv_features: bool = field(default=False, metadata={"doc": "use the CNN feature encoder output instead"})
    normalize_audio: bool = field(default=True, metadata={"doc": "zero-mean unit-variance input (wav2vec2 processor)"})
    max_frames: int = field(default=445, metadata={"doc": "T (paper 003: t = 445 for Wav2Vec)"})
    pad_side: str = field(default="end", metadata={"doc": "paper 003 head-pads: set 'start' to match"})


class _SSLSpeech:
    """One lazily loaded Wav2Vec2Model per instance (dropped on pickling); GPU when present."""

    needs_audio: ClassVar[bool] = True
    needs_columns: ClassVar[tuple[str, ...]] = ()
    model_backed: ClassVar[bool] = True  # the pipeline runs it in an actor pool (model loaded once per actor)
    name: ClassVar[str]

    def __init__(self, config: SSLSpeechConfig | None = None) -> None:
        self.config = config if config is not None else SSLSpeechConfig()
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None}

    @property
    def dim(self) -> int:
        config = json.loads((resolve_ssl_model_dir(self.config.model_dir) / "config.json").read_text())
        return int(config["conv_dim"][-1] if self.config.conv_features else config["hidden_size"])

    def _load(self) -> Any:
        if self._model is None:
            import torch
            from transformers import Wav2Vec2Model

            path = resolve_ssl_model_dir(self.config.model_dir)
            model = Wav2Vec2Model.from_pretrained(path, local_files_only=True).eval()
            self._model = model.to("cuda" if torch.cuda.is_available() else "cpu")
        return self._model

    def frames(self, utt_id: str, audio: np.ndarray) -> np.ndarray:
        """[frames, dim] for one utterance (run alone: no padding effects on group-norm models)."""
        import torch

        model = self._load()
        x = np.asarray(audio, dtype=np.float32)
        if self.config.normalize_audio:
            x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        device = next(model.parameters()).device
        with torch.inference_mode():
            out = model(torch.from_numpy(x)[None].to(device), output_hidden_states=not self.config.conv_features)
            hidden = out.extract_features if self.config.conv_features else out.hidden_states[self.config.layer]
        frames = hidden[0].float().cpu().numpy()
        if len(frames) == 0:
            raise ValueError(f"{self.name}: utt_id {utt_id!r} is too short for one frame ({len(x)} samples)")
        return frames


class SSLSpeechFrames(_SSLSpeech):
    name: ClassVar[str] = "wav2vec"

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.config.max_frames, self.dim)), "length": FieldSpec((), "int32")}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        out = np.zeros((len(batch["utt_id"]), self.config.max_frames, self.dim), np.float32)
        lengths = np.zeros(len(batch["utt_id"]), np.int32)
        for i, (utt_id, audio) in enumerate(zip(batch["utt_id"], batch["audio"])):
            out[i], lengths[i] = pad_or_trim(self.frames(utt_id, audio), self.config.max_frames, self.config.pad_side)
        return {self.name: out, "length": lengths}


class SSLSpeechMean(_SSLSpeech):
    name: ClassVar[str] = "wav2vec_mean"

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.dim,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        rows = [self.frames(u, a).mean(axis=0) for u, a in zip(batch["utt_id"], batch["audio"])]
        return {self.name: np.asarray(rows, dtype=np.float32).reshape(len(rows), self.dim)}
