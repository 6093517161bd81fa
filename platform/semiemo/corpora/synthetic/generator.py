"""The synthetic corpus generator: utterance i of a SynthConfig is a pure function of (config, i).

Index layout (documented in SynthConfig too):
    [0, n_acted)                                   acted, labeled
    [n_acted, n_acted + n_wild_labeled)            wild, labeled
    [n_acted + n_wild_labeled, n_total)            wild, unlabeled (truth only in `oracle_label`)

Metadata (speaker, class, text, social, votes, arousal/valence) comes from counter-based uniforms
keyed by (seed, stream, i), vectorised over chunks, so a 500,000-row manifest takes seconds and
no audio. Classes follow a golden-ratio (Weyl) sequence inverted through the domain's class CDF:
the shares of any block match the configured ones to within about 1/N. Audio is rendered on
demand (`render_audio`) by espeak-ng; wild audio gets additive coloured noise at a random SNR.

`duration` in a manifest from `synthesize_manifest` is an ESTIMATE from the text and speaking
rate (calibrated against espeak-ng: median error about 4 %); `write_corpus(..., write_audio=True)`
replaces it with the exact length of the written audio.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from semiemo.corpora.schema import TOPICS
from semiemo.corpora.synthetic import annotation, social, text, visual
from semiemo.corpora.synthetic.config import SynthConfig
from semiemo.corpora.synthetic.counter_rng import uniforms, utterance_rng
from semiemo.corpora.synthetic.espeak import synthesize
from semiemo.corpora.synthetic.prosody import emotional_voice, offsets_array, voice_settings

CORPUS_NAME = "synthetic"
DOMAIN_NAMES = ("acted", "wild")

# Random streams: one per concern, so adding a concern never shifts another's numbers.
_S_SPEAKER_PICK, _S_PROSODY, _S_TEXT, _S_SOCIAL, _S_VOTES, _S_AFFECT, _S_FACE, _S_SNR, _S_LABEL = range(1, 10)
_S_SPEAKER_TABLE = 20      # + domain index
_S_AUDIO_NOISE = 100       # per-utterance generator
_S_FACE_NOISE = 101        # per-utterance generator
_S_FACE_SPEAKER = 102      # + domain index: speaker face offsets
_S_NO_FACE = 110           # unlabeled_no_face_share (paper 001's faceless AMI clips)
_S_VIEW = 37               # camera view per utterance (side_view_share > 0 only)
_S_VIEW_NOISE = 137        # per-utterance generator: extra side-view frame noise

_FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
_MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
_WEYL = (np.sqrt(5.0) - 1.0) / 2.0  # golden-ratio fraction: the most evenly spread 1-D sequence

# duration ≈ (_DUR_INTERCEPT + _DUR_PER_CHAR * characters) * 175 / rate_wpm, fitted on espeak-ng output.
_DUR_INTERCEPT = 0.44
_DUR_PER_CHAR = 0.046


@dataclass(frozen=True)
class Utterance:
    """One synthetic utterance: its manifest row and its audio (mono float32)."""

    row: dict
    audio: np.ndarray
    sample_rate: int


@dataclass(frozen=True)
class _Speakers:
    """A domain's speaker pool: names, gender, espeak baseline voice, home accent region."""

    names: np.ndarray     # (S,) str
    gender: np.ndarray    # (S,) "female" | "male"
    variant: np.ndarray   # (S,) espeak variant
    base: np.ndarray      # (S, 4) [pitch, range, rate_wpm, volume]
    home_region: np.ndarray  # (S,) int


# ---- config-level tables (cached by the config's JSON) ---------------------------------------------

def _as_config(cfg_or_json: SynthConfig | str) -> SynthConfig:
    return cfg_or_json if isinstance(cfg_or_json, SynthConfig) else _parse_config(str(cfg_or_json))


@lru_cache(maxsize=16)
def _parse_config(cfg_json: str) -> SynthConfig:
    return SynthConfig.from_json(cfg_json)


@lru_cache(maxsize=16)
def _speakers(cfg_json: str, domain: int) -> _Speakers:
    cfg = _parse_config(cfg_json)
    dom = cfg.domain(cfg.domain_names[domain])
    u = uniforms(cfg.seed, _S_SPEAKER_TABLE + domain, np.arange(dom.n_speakers), 7)
    female = u[:, 0] < dom.female_share
    f_var = np.array(_FEMALE_VARIANTS)[np.minimum((u[:, 1] * len(_FEMALE_VARIANTS)).astype(int), len(_FEMALE_VARIANTS) - 1)]
    m_var = np.array(_MALE_VARIANTS)[np.minimum((u[:, 1] * len(_MALE_VARIANTS)).astype(int), len(_MALE_VARIANTS) - 1)]
    base = np.stack([40 + 20 * u[:, 2], 40 + 20 * u[:, 3], 150 + 40 * u[:, 4], 90 + 20 * u[:, 5]], axis=1)
    width = 2 if domain == 0 else 4
    names = np.array([f"{cfg.domain_names[domain]}_spk{s:0{width}d}" for s in range(dom.n_speakers)], dtype=object)
    return _Speakers(names=names, gender=np.where(female, "female", "male").astype(object),
                     variant=np.where(female, f_var, m_var), base=base,
                     home_region=np.minimum((u[:, 6] * cfg.n_accents).astype(int), cfg.n_accents - 1))


@lru_cache(maxsize=4)
def _speaker_faces(cfg_json: str, domain: int) -> np.ndarray:
    cfg = _parse_config(cfg_json)
    n = cfg.domain(cfg.domain_names[domain]).n_speakers
    return np.random.default_rng([cfg.seed, _S_FACE_SPEAKER + domain]).standard_normal((n, cfg.face_dim)) * cfg.face_speaker_sd


@lru_cache(maxsize=16)
def _prototypes(cfg_json: str) -> np.ndarray:
    cfg = _parse_config(cfg_json)
    return visual.class_prototypes(cfg.seed, cfg.emotions, cfg.face_dim, cfg.face_class_separation)


def _normals(u: np.ndarray) -> np.ndarray:
    return ndtri(np.clip(u, 1e-12, 1 - 1e-12))


# ---- the plan: every per-utterance decision, vectorised over a chunk of indices -------------------

def _plan(cfg: SynthConfig, idx: np.ndarray) -> dict[str, np.ndarray]:
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= cfg.n_total):
        raise IndexError(f"synthetic utterance index out of range [0, {cfg.n_total}): "
                         f"{idx[(idx < 0) | (idx >= cfg.n_total)][:5].tolist()}")
    cfg_json = cfg.to_json()
    n_a, n_wl = cfg.n_acted, cfg.n_wild_labeled
    block = np.where(idx < n_a, 0, np.where(idx < n_a + n_wl, 1, 2))
    local = idx - np.array([0, n_a, n_a + n_wl])[block]
    n_domains = len(cfg.domain_names)
    doms = [cfg.domain(d) for d in cfg.domain_names]
    domain = np.minimum(block, n_domains - 1)  # 0 acted, 1 wild (2 wild_unlabeled with cfg.unlabeled_domain)
    labeled = block < 2
    n_classes = len(cfg.emotions)

    # class: Weyl sequence through the domain's class CDF
    offsets = uniforms(cfg.seed, _S_LABEL, np.arange(3), 1)[:, 0]
    u_label = np.mod(offsets[block] + (local + 1) * _WEYL, 1.0)
    cdfs = np.stack([np.cumsum(cfg.class_probabilities(d)) for d in cfg.domain_names])
    if cfg.unlabeled_majority_share is not None:  # paper 001: the unlabeled block gets its own class shares
        cdfs = np.concatenate([cdfs, np.cumsum(cfg.unlabeled_class_probabilities())[None]])
        label = np.minimum((u_label[:, None] >= cdfs[np.where(block == 2, len(cfg.domain_names), domain)]).sum(axis=1),
                           n_classes - 1)
    else:
        label = np.minimum((u_label[:, None] >= cdfs[domain]).sum(axis=1), n_classes - 1)

    # speaker and voice
    u_spk = uniforms(cfg.seed, _S_SPEAKER_PICK, idx, 1)[:, 0]
    pools = [_speakers(cfg_json, d) for d in range(n_domains)]
    n_spk = np.array([len(p.names) for p in pools])
    spk = np.minimum((u_spk * n_spk[domain]).astype(int), n_spk[domain] - 1)

    def per_speaker(attr: str) -> np.ndarray:
        out = np.empty((len(idx),) + getattr(pools[0], attr).shape[1:], dtype=getattr(pools[0], attr).dtype)
        for d in range(n_domains):
            m = domain == d
            if m.any():
                out[m] = getattr(pools[d], attr)[spk[m]]
        return out

    strength = np.array([d.expression_strength for d in doms])[domain]
    voice = emotional_voice(per_speaker("variant"), per_speaker("base"), offsets_array(cfg.emotions)[label],
                            strength, _normals(uniforms(cfg.seed, _S_PROSODY, idx, 4)))

    # social attributes, then text (the sentence follows the topic)
    u_soc = uniforms(cfg.seed, _S_SOCIAL, idx, 2)
    topic = social.draw_topic(social.topic_table(cfg.emotions, cfg.topic_emotion_coupling), label, u_soc[:, 0])
    accent = social.draw_accent(per_speaker("home_region"), label, cfg.n_accents, cfg.accent_emotion_coupling,
                                u_soc[:, 1])
    cue = np.array([d.text_cue_prob for d in doms])[domain]
    mislead = np.array([d.text_misleading_prob for d in doms])[domain]
    texts, word_class = text.compose_text(cfg.emotions, label, topic, cue, mislead,
                                          uniforms(cfg.seed, _S_TEXT, idx, 5))

    # annotation
    n_votes = cfg.votes_per_utterance
    u_votes = uniforms(cfg.seed, _S_VOTES, idx, 2 * n_votes)
    agreement = np.array([d.vote_agreement for d in doms])[domain]
    vote_idx = annotation.votes(label, n_classes, agreement, u_votes[:, :n_votes], u_votes[:, n_votes:])
    arousal, valence = annotation.affect(cfg.emotions, label, strength,
                                         _normals(uniforms(cfg.seed, _S_AFFECT, idx, 2)))

    # what the face shows and what the FER model says
    u_face = uniforms(cfg.seed, _S_FACE, idx, 4)
    if cfg.av_inconsistency_groups is None:
        shown = visual.face_label(label, n_classes, cfg.av_inconsistency_rate, u_face[:, 0], u_face[:, 1])
    else:
        groups = [cfg.av_inconsistency_groups[e] for e in cfg.emotions]
        shown = visual.face_label_other_group(label, groups, cfg.av_inconsistency_rate, u_face[:, 0], u_face[:, 1])
    fer_class = visual.fer_prediction(cfg.emotions, shown, cfg.fer_accuracy, u_face[:, 2], u_face[:, 3])

    # recording condition
    snr_lo = np.array([np.nan if d.snr_db is None else d.snr_db[0] for d in doms])[domain]
    snr_hi = np.array([np.nan if d.snr_db is None else d.snr_db[1] for d in doms])[domain]
    snr_db = snr_lo + (snr_hi - snr_lo) * uniforms(cfg.seed, _S_SNR, idx, 1)[:, 0]

    n_chars = np.fromiter((len(t) for t in texts), dtype=float, count=len(texts))
    duration = (_DUR_INTERCEPT + _DUR_PER_CHAR * n_chars) * 175.0 / voice["rate"]

    return {
        "index": idx, "block": block, "domain": domain, "labeled": labeled, "label": label,
        "speaker_ix": spk, "speaker": per_speaker("names"), "gender": per_speaker("gender"),
        "voice": voice, "strength": strength, "topic": topic, "accent": accent, "text": texts,
        "word_class": word_class, "votes": vote_idx, "arousal": arousal, "valence": valence,
        "face_label": shown, "fer_class": fer_class, "snr_db": snr_db, "duration": duration,
        "side_view": (uniforms(cfg.seed, _S_VIEW, idx, 1)[:, 0] < cfg.side_view_share) if cfg.side_view_share > 0 else None,
    }


def _visual_arrays(cfg: SynthConfig, plan: dict) -> tuple[np.ndarray, np.ndarray]:
    """(n, F, dim) face features and (n, F, 7) FER probabilities for a planned chunk."""
    cfg_json = cfg.to_json()
    offsets = np.zeros((len(plan["index"]), cfg.face_dim))
    for d in range(len(cfg.domain_names)):
        m = plan["domain"] == d
        if m.any():
            offsets[m] = _speaker_faces(cfg_json, d)[plan["speaker_ix"][m]]
    faces, fers = visual.render_frames(
        prototypes=_prototypes(cfg_json)[plan["face_label"]], speaker_offsets=offsets,
        strength=plan["strength"], fer_class=plan["fer_class"], frames=cfg.frames, noise_sd=cfg.face_noise_sd,
        rngs=[utterance_rng(cfg.seed, _S_FACE_NOISE, int(i)) for i in plan["index"]])
    if plan.get("side_view") is not None:  # side-view faces: extra frame noise (paper 002 Table VIII)
        for k in np.flatnonzero(plan["side_view"]):
            extra = utterance_rng(cfg.seed, _S_VIEW_NOISE, int(plan["index"][k])).standard_normal(faces[k].shape)
            faces[k] = (faces[k].astype(np.float32) + cfg.side_view_noise_sd * extra).astype(np.float16)
    return faces, fers


def no_face(cfg: SynthConfig, idx: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Unlabeled rows whose clip has no detectable face (unlabeled_no_face_share of them)."""
    u = uniforms(cfg.seed, _S_NO_FACE, np.asarray(idx, dtype=np.int64), 1)[:, 0]
    return (np.asarray(block) == 2) & (u < cfg.unlabeled_no_face_share)


_STRING_COLUMNS = ("utt_id", "corpus", "split_group", "speaker", "domain", "label", "oracle_label", "text", "topic",
                   "accent", "gender", "oracle_face_label")


def _utt_ids(cfg: SynthConfig, idx: np.ndarray) -> list[str]:
    return [f"syn{cfg.seed}-{i:07d}" for i in idx]


def _frame(cfg: SynthConfig, plan: dict) -> pd.DataFrame:
    """Manifest rows (schema.py columns) for one planned chunk."""
    emotions = np.array(cfg.emotions, dtype=object)
    n = len(plan["index"])
    truth = emotions[plan["label"]]
    labeled = plan["labeled"]
    votes = emotions[plan["votes"]]
    cols: dict[str, object] = {
        "utt_id": _utt_ids(cfg, plan["index"]),
        "corpus": CORPUS_NAME,
        "split_group": plan["speaker"],
        "speaker": plan["speaker"],
        "domain": np.array(cfg.domain_names, dtype=object)[plan["domain"]],
        "labeled": labeled,
        "label": np.where(labeled, truth, None),
        "oracle_label": truth,
        "text": plan["text"],
        "topic": np.array(TOPICS, dtype=object)[plan["topic"]],
        "accent": social.accent_names(plan["accent"]) if n else np.array([], dtype=object),
        "gender": plan["gender"],
        "votes": [list(votes[k]) if labeled[k] else None for k in range(n)],
        "arousal": plan["arousal"],
        "valence": plan["valence"],
        "duration": plan["duration"].astype(np.float32),
        "snr_db": plan["snr_db"].astype(np.float32),
        "oracle_face_label": emotions[plan["face_label"]],
    }
    if cfg.visual_in_manifest:
        # one list of F float16 frames per cell: Parquet stores list<list<halffloat>>
        faces, fers = _visual_arrays(cfg, plan)
        cols["face_features"] = [list(f) for f in faces]
        cols["fer_probs"] = [list(f) for f in fers]
        if cfg.unlabeled_no_face_share > 0:  # paper 001: no face detected -> the visual cells are missing
            faceless = no_face(cfg, plan["index"], plan["block"])
            for col in ("face_features", "fer_probs"):
                cols[col] = [None if faceless[k] else v for k, v in enumerate(cols[col])]
    if plan.get("side_view") is not None:
        cols["face_view"] = np.where(plan["side_view"], "side", "frontal").astype(object)
    cols["synth_index"] = plan["index"]
    df = pd.DataFrame(cols)
    for col in _STRING_COLUMNS:  # one dtype whatever a chunk holds (e.g. a chunk of only unlabeled rows)
        df[col] = df[col].astype("str")
    df["synth_config"] = pd.Categorical([cfg.to_json()] * n)
    return df


# ---- public API --------------------------------------------------------------------------------

def synthesize_manifest(cfg: SynthConfig, chunk_size: int = 20_000, progress: bool = False) -> pd.DataFrame:
    """The corpus manifest, metadata only (no audio is synthesized; `duration` is an estimate)."""
    starts = range(0, cfg.n_total, chunk_size)
    frames = []
    if progress:
        from rich.progress import track
        starts = track(starts, description="synthetic manifest", total=len(starts))
    for s in starts:
        frames.append(_frame(cfg, _plan(cfg, np.arange(s, min(s + chunk_size, cfg.n_total)))))
    if not frames:
        frames.append(_frame(cfg, _plan(cfg, np.arange(0))))
    df = pd.concat(frames, ignore_index=True)
    df["synth_config"] = pd.Categorical(df["synth_config"].astype(object))
    return df


def _add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Additive coloured noise (power spectrum ∝ 1/f^slope, slope ~ U[0, 1.5]: white to beyond pink)
    at `snr_db` relative to the speech's mean power."""
    if audio.size == 0 or not np.isfinite(snr_db):
        return audio
    slope = rng.uniform(0.0, 1.5)
    n_fft = 1 << (audio.size - 1).bit_length()  # a power of two: FFTs of prime-ish lengths are slow
    spectrum = np.fft.rfft(rng.standard_normal(n_fft))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum * freqs ** (-slope / 2.0), n=n_fft)[: audio.size]
    speech_power = float(np.mean(audio.astype(np.float64) ** 2))
    noise *= np.sqrt(speech_power / (10 ** (snr_db / 10)) / max(float(np.mean(noise ** 2)), 1e-20))
    out = audio + noise
    peak = float(np.max(np.abs(out)))
    if peak > 1.0:  # keep the waveform writable as PCM without clipping
        out = out / peak
    return out.astype(np.float32)


_PLAN_BLOCK = 64  # render_audio plans this many neighbouring utterances at once (rows are planned independently)


@lru_cache(maxsize=8)
def _block_plan(cfg_json: str, block: int) -> dict:
    """The plan of utterances [block * 64, block * 64 + 64): featurizers render rows in order, so
    planning a block once saves ~1 ms per utterance. Each row's plan is the same as planned alone."""
    cfg = _parse_config(cfg_json)
    start = block * _PLAN_BLOCK
    return _plan(cfg, np.arange(start, min(start + _PLAN_BLOCK, cfg.n_total)))


def _render_from_plan(cfg: SynthConfig, plan: dict, k: int) -> np.ndarray:
    audio = synthesize(plan["text"][k], voice_settings(plan["voice"], k), sample_rate=cfg.sample_rate)
    if plan["domain"][k] >= 1:  # wild (and wild_unlabeled) recordings are noisy
        audio = _add_noise(audio, float(plan["snr_db"][k]), utterance_rng(cfg.seed, _S_AUDIO_NOISE, int(plan["index"][k])))
    return audio


def render_audio(cfg_or_json: SynthConfig | str, index: int) -> np.ndarray:
    """Utterance `index`'s waveform: mono float32 at cfg.sample_rate (16 kHz). Pure in (config, index)."""
    cfg = _as_config(cfg_or_json)
    index = int(index)
    if not 0 <= index < cfg.n_total:
        raise IndexError(f"synthetic utterance index {index} out of range [0, {cfg.n_total})")
    plan = _block_plan(cfg.to_json(), index // _PLAN_BLOCK)
    return _render_from_plan(cfg, plan, index % _PLAN_BLOCK)


def render_visual(cfg_or_json: SynthConfig | str, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Utterance `index`'s (F, face_dim) face features and (F, 7) FER probabilities (float16)."""
    cfg = _as_config(cfg_or_json)
    faces, fers = _visual_arrays(cfg, _plan(cfg, np.array([int(index)])))
    return faces[0], fers[0]


def synthesize_utterance(cfg_or_json: SynthConfig | str, index: int) -> Utterance:
    """Utterance `index`: its manifest row and its audio."""
    cfg = _as_config(cfg_or_json)
    plan = _plan(cfg, np.array([int(index)]))
    row = _frame(cfg, plan).iloc[0].to_dict()
    return Utterance(row=row, audio=_render_from_plan(cfg, plan, 0), sample_rate=cfg.sample_rate)


def _write_one(args: tuple[str, int, str]) -> tuple[int, float | None, str | None]:
    cfg_json, index, out_path = args
    import soundfile as sf

    try:
        cfg = _parse_config(cfg_json)
        audio = render_audio(cfg, index)
        sf.write(out_path, audio, cfg.sample_rate, subtype="FLOAT")
        return index, audio.size / cfg.sample_rate, None
    except Exception as e:  # noqa: BLE001 - one bad utterance goes to the errors table
        return index, None, f"{type(e).__name__}: {e}"


def write_corpus(cfg: SynthConfig, out_dir: str | Path, write_audio: bool = False, workers: int = 1,
                 progress: bool = True) -> Path:
    """Write `manifest.parquet` (and `audio/<utt_id>.wav` when asked) under out_dir; return the manifest path.

    With audio, `path` is set (relative to out_dir) and `duration` is exact. Utterances that fail
    to synthesize keep `path` empty and are listed with their reason in `errors.csv`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = synthesize_manifest(cfg, progress=progress and cfg.n_total > 100_000)
    if write_audio:
        audio_dir = out / "audio"
        audio_dir.mkdir(exist_ok=True)
        cfg_json = cfg.to_json()
        jobs = [(cfg_json, int(i), str(audio_dir / f"{u}.wav")) for i, u in zip(df["synth_index"], df["utt_id"])]
        results: list[tuple[int, float | None, str | None]] = []
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                iterator = pool.map(_write_one, jobs, chunksize=32)
                results = _collect(iterator, len(jobs), progress)
        else:
            results = _collect(map(_write_one, jobs), len(jobs), progress)
        by_index = {i: (dur, err) for i, dur, err in results}
        durations = np.array([by_index[int(i)][0] if by_index[int(i)][0] is not None else np.nan
                              for i in df["synth_index"]], dtype=np.float32)
        ok = ~np.isnan(durations)
        df["path"] = np.where(ok, [f"audio/{u}.wav" for u in df["utt_id"]], None)
        df.loc[ok, "duration"] = durations[ok]
        errors = [{"utt_id": u, "synth_index": int(i), "reason": by_index[int(i)][1]}
                  for i, u in zip(df["synth_index"], df["utt_id"]) if by_index[int(i)][1] is not None]
        if errors:
            pd.DataFrame(errors).to_csv(out / "errors.csv", index=False)
    from semiemo.corpora.manifest import write_manifest

    manifest_path = write_manifest(df, out / "manifest.parquet")
    (out / "synth_config.json").write_text(json.dumps(json.loads(cfg.to_json()), indent=2))
    return manifest_path


def _collect(iterator, total: int, progress: bool) -> list:
    if not progress:
        return list(iterator)
    from rich.progress import track

    return list(track(iterator, total=total, description="synthesizing audio"))
