"""The manifest contract: one row per utterance, the columns every stage may rely on.

See ../shared/DESIGN.md ("Contracts"). Training code never reads `oracle_label`; only diagnostics do.
"""

from __future__ import annotations

REQUIRED_COLUMNS: tuple[str, ...] = ("utt_id", "corpus", "split_group", "speaker", "domain", "labeled")

OPTIONAL_COLUMNS: tuple[str, ...] = (
    "path",            # audio file (absolute, or relative to the manifest's folder)
    "synth_config",    # JSON of a SynthConfig: audio is regenerated on the worker, nothing stored
    "synth_index",     # utterance index i inside that synthetic corpus config
    "text",
    "label",           # categorical name, one of the corpus label set
    "arousal", "valence", "dominance",
    "votes",           # list[str]: annotator votes, for fuzzy labels (paper 002)
    "annotators",      # list[str] aligned with votes: who cast each vote (IEMOCAP 'C-E1', ...)
    "syllables",       # JSON [[start_s, end_s, syllable], ...] time alignment (CASIA .lab; 'SIL' = silence)
    "words",           # JSON [[start_s, end_s, word], ...] word alignment (paper 001's 3-word crops: corpora/word_crops.py)
    "style",           # improvised | scripted (IEMOCAP)
    "gender", "session", "topic", "accent",
    "split",           # official split where a corpus has one (MELD): train | dev | test
    "duration",        # seconds
    "face_features",   # list[list[float]] F x 342 (synthetic visual modality)
    "fer_probs",       # list[list[float]] F x 7 facial-expression probabilities
    "visual_path",     # .npy per utterance for real corpora
    "oracle_label",    # hidden truth of unlabeled synthetic rows: diagnostics only
    "oracle_face_label",  # synthetic: the emotion the face shows (differs from the voice's at the
                          # audio-visual inconsistency rate, paper 003): diagnostics only
    "snr_db",          # synthetic: SNR of the additive noise in wild audio (NaN = clean)
)

# paper 000: the six classes of the in-the-wild voice dialogue corpus.
DEFAULT_EMOTIONS: tuple[str, ...] = ("neutral", "sadness", "disgust", "anger", "happiness", "boredom")

# Facial-expression classes a pretrained FER model outputs (papers 001-003).
FER_CLASSES: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")
# paper 003 Table 2: the FER expressions grouped into the 3 sentiments of CH-SIMS
TABLE2_SENTIMENT: dict[str, str] = {
    "neutral": "neutral", "surprise": "positive", "happiness": "positive",
    "fear": "negative", "sadness": "negative", "anger": "negative", "disgust": "negative",
}

TOPICS: tuple[str, ...] = ("chat", "consultation", "joke", "entertainment", "operation", "search", "other")

DOMAINS: tuple[str, ...] = ("acted", "wild")
