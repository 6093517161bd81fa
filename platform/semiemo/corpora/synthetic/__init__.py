"""The embedded synthetic corpus: real espeak-ng speech whose emotion lives in prosody, text,
social attributes and a simulated face, with a known truth for every unlabeled row.

Public API: SynthConfig, synthesize_manifest, render_audio, render_visual, write_corpus,
synthesize_utterance, Utterance.
"""

from semiemo.corpora.synthetic.config import DomainConfig, SynthConfig
from semiemo.corpora.synthetic.generator import (
    Utterance,
    render_audio,
    render_visual,
    synthesize_manifest,
    synthesize_utterance,
    write_corpus,
)

__all__ = [
    "DomainConfig",
    "SynthConfig",
    "Utterance",
    "render_audio",
    "render_visual",
    "synthesize_manifest",
    "synthesize_utterance",
    "write_corpus",
]
