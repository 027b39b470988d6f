"""From a corpus manifest to model inputs: one place decides how each kind of model reads each kind of data.

* face images (FER2013, CK+48, folders) -> uint8 [n, 48, 48] -> ``face2d`` / ``classroom_cnn``;
* speech (RAVDESS, CREMA-D, TESS, Emo-DB) -> MFCC+deltas [n, 1, 60, frames] of a fixed-length
  centred window -> ``speech`` (training and model selection; ``emolab evaluate`` reads a file with more speech
  than one window whole, :func:`~emolab.preprocessing.inputs.load_speech_windows`); only the rows a speech model
  can read (:func:`readable_rows`);
* text (MELD, GoEmotions) -> token ids [n, max_len] with a vocabulary fitted on the training
  split only -> ``text``;
* synthetic training sets -> face clips, MFCCs and tokens -> ``face3d``, ``cnn_lstm``,
  ``speech``, ``text`` or ``fused``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, EmolabError
from ..preprocessing.inputs import SPEECH_SECONDS, load_face_images, load_speech_inputs, speech_inputs_from_waves
from ..registry import BUNDLED_MODELS, FRAME_FACE_KINDS, MODEL_KINDS, PRETRAINED_DIR, SYNTHETIC_DATASETS
from ..taxonomy import EMOTIONS


def read_labelled(dataset: str, path: str | os.PathLike, kind: str | None = None, report: dict | None = None) -> pd.DataFrame:
    """The manifest of a corpus (or a synthetic training set), its labelled rows only.

    With a model ``kind``, only the rows that kind can read (:func:`readable_rows`); ``report`` (a dict) then gets
    ``"left_out"``: a sentence saying which rows were left out and why ("" when none)."""
    from ..data import read_corpus

    if dataset in SYNTHETIC_DATASETS:
        from ..synth.trainset import load_trainset

        return load_trainset(path)[0]
    m = read_corpus(dataset, path)
    m = m[m["label"].astype(str) != ""].reset_index(drop=True)
    if kind is None:
        return m
    m, note = readable_rows(m, kind)
    if report is not None:
        report["left_out"] = note
    if not len(m):
        raise DataError(f"no {dataset} rows a {kind} model can read: {note}")
    return m


def readable_rows(manifest: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, str]:
    """The rows of a corpus manifest that a model of ``kind`` reads, and a sentence on those left out.

    A speech model reads spoken audio: rows without audio (RAVDESS's video-only files) are left out, and so are
    RAVDESS's sung files (its song channel: singing, not speech) and an audio-video file whose audio-only twin is
    there too (the same take: RAVDESS's audio-only files are the audio of its audio-video recordings, and reading
    both would count each take twice). Other kinds read every row.

    Returns
    -------
    (pandas.DataFrame, str)
        The kept rows (index reset) and e.g. ``"left out 1,012 sung RAVDESS files (singing is not speech)"``; ""
        when none was left out.
    """
    if MODEL_KINDS.get(kind) != "speech":
        return manifest, ""
    keep = manifest["modalities"].astype(str).str.split("+").apply(lambda m: "audio" in m).to_numpy()
    files = lambda n, what: f"{int(n):,} {what.replace('files', 'file') if n == 1 else what}"  # noqa: E731
    why = [files((~keep).sum(), "files without audio")] if (~keep).any() else []
    if "vocal_channel" in manifest.columns:
        sung = keep & (manifest["vocal_channel"].astype(str) == "song").to_numpy()
        if sung.any():
            why.append(files(sung.sum(), "sung RAVDESS files (singing is not speech)"))
        keep &= ~sung
    if "modality" in manifest.columns:  # RAVDESS: 01 audio-video, 03 audio-only; the rest of the name is the take
        take = manifest["path"].map(lambda p: Path(str(p)).stem[3:])  # 03-01-05-01-02-01-12 -> 01-05-01-02-01-12
        audio_only = set(take[keep & (manifest["modality"] == "audio-only").to_numpy()])
        twin = keep & (manifest["modality"] == "audio-video").to_numpy() & take.isin(audio_only).to_numpy()
        if twin.any():
            why.append(files(twin.sum(), "audio-video RAVDESS files whose audio-only twin is read instead"))
        keep &= ~twin
    return manifest[keep].reset_index(drop=True), ("left out " + "; ".join(why) if why else "")


def label_set(manifest: pd.DataFrame, labels: str) -> tuple[str, list[str]]:
    """The label column and class names: emolab's 7 emotions, or the corpus's own (``raw_label``), sorted."""
    if labels == "canonical":
        return "label", list(EMOTIONS)
    if labels != "native":
        raise EmolabError(f"labels must be 'canonical' or 'native', got {labels!r}")
    if "raw_label" not in manifest.columns or (manifest["raw_label"].astype(str) == "").any():
        raise DataError("this corpus's manifest has no native labels (raw_label) for every sample; use labels='canonical'")
    return "raw_label", sorted(set(manifest["raw_label"].astype(str)))


def synthetic_inputs(folder: str | os.PathLike, manifest: pd.DataFrame, vocab=None, feature: str = "mfcc") -> dict[str, np.ndarray]:
    """Face clips [n,1,T,S,S] uint8, speech inputs and token ids of a synthetic training set."""
    from ..cache import FeatureCache
    from ..synth.trainset import TrainsetConfig, load_trainset

    folder = Path(folder)
    _, faces, audio = load_trainset(folder)
    cfg = TrainsetConfig.load(folder / "trainset.json")
    idx = manifest["index"].to_numpy()
    speech = FeatureCache("synthetic_speech").get_or_compute(
        folder / "audio.npy", {"feature": feature, "seconds": cfg.audio_seconds, "version": 1},
        lambda: speech_inputs_from_waves(np.asarray(audio, np.float32), cfg.audio_seconds, feature))
    out = {"face": np.asarray(faces[idx])[:, None], "speech": speech[idx]}
    if vocab is not None:
        out["text"] = vocab.transform(manifest["text"].astype(str))
    return out


def text_context_inputs(vocab, manifest: pd.DataFrame, context: int) -> np.ndarray:
    """Token ids of every manifest row with its ``context`` previous utterances
    (:func:`~emolab.preprocessing.text.context_transform`): a corpus of dialogues (MELD: ``group``
    and ``utterance`` columns) gives each row the utterances before it in its dialogue, with speaker
    markers from ``speaker``; a corpus of lone texts (GoEmotions) gives none."""
    from ..preprocessing.text import context_transform

    texts = manifest["text"].astype(str).tolist()
    if {"group", "utterance"} <= set(manifest.columns):
        groups, order = manifest["group"].astype(str).to_numpy(), pd.to_numeric(manifest["utterance"]).to_numpy()
    else:
        groups, order = np.arange(len(manifest)), None
    speakers = manifest["speaker"].astype(str).tolist() if "speaker" in manifest.columns else None
    return context_transform(vocab, texts, speakers=speakers, groups=groups, order=order, k=int(context))


def prepare(kind: str, dataset: str, path: str | os.PathLike, manifest: pd.DataFrame, train_idx: np.ndarray,
            progress: bool = True, vocab=None, context: int = 0, feature: str = "mfcc",
            encoder: str = "lstm") -> tuple[dict[str, Any], dict[str, Any]]:
    """Inputs for ``kind`` of every manifest row, and the preprocessing parameters to save.

    ``feature`` (speech corpora only): the speech model's input features (``SpeechCNNConfig.feature``).
    ``encoder`` (text only, without ``vocab``): ``"minilm"`` gives WordPiece ids for the MiniLM encoder
    (:class:`~emolab.preprocessing.wordpiece.WordPiece`, 64 ids a row) instead of a vocabulary fitted on the training texts.

    ``context`` (text only): previous utterances of the dialogue put before each one
    (:func:`text_context_inputs`; the vocabulary gains the context markers).

    Returns
    -------
    inputs : dict with ``"X"`` (array or dict of arrays, row-aligned with the manifest)
    preprocessing : dict (JSON-able), stored in the model file
    """
    from ..preprocessing.text import Vocabulary

    if kind == "text" and encoder == "minilm" and vocab is None:  # the encoder's fixed vocabulary: nothing to fit
        from ..preprocessing.wordpiece import WordPiece

        vocab = WordPiece(max_len=32 if dataset in SYNTHETIC_DATASETS else 64)
    if dataset in SYNTHETIC_DATASETS:
        if kind in ("text", "fused") and vocab is None:
            vocab = Vocabulary(min_count=1, max_len=24).fit(manifest["text"].iloc[train_idx])
        inp = synthetic_inputs(path, manifest, vocab)
        prep = {"source": "synthetic", "vocabulary": vocab.to_dict() if vocab is not None else None}
        if kind == "fused":
            return {"X": inp}, prep
        if kind in FRAME_FACE_KINDS:  # every frame for training (train_recipe), the middle one for validation
            return {"X": inp["face"][:, 0]}, prep
        if MODEL_KINDS.get(kind) in inp:  # the clip face kinds, speech, text: their modality's inputs
            return {"X": inp[MODEL_KINDS[kind]]}, prep
        raise EmolabError(f"model {kind!r} cannot be trained on a synthetic training set")
    if kind in FRAME_FACE_KINDS:
        found: dict = {}
        X = load_face_images(manifest, progress=progress, report=found)
        return {"X": X}, {"input": "gray48", **({"face_crops": found} if found["cropped"] or found["no_face"] else {})}
    if kind == "speech":
        return ({"X": load_speech_inputs(manifest, feature=feature, progress=progress)},
                {"input": "mfcc+deltas" if feature == "mfcc" else feature, "seconds": SPEECH_SECONDS, "sample_rate": 16000})
    if kind == "text":
        vocab = vocab or Vocabulary(min_count=2, max_size=8000, max_len=50).fit(manifest["text"].iloc[train_idx])
        if context:
            vocab = vocab.with_context_tokens()
            return {"X": text_context_inputs(vocab, manifest, context)}, {"vocabulary": vocab.to_dict(), "context": int(context)}
        return {"X": vocab.transform(manifest["text"].astype(str))}, {"vocabulary": vocab.to_dict()}
    raise EmolabError(f"model {kind!r} cannot be trained on {dataset}; see 'emolab train --help'")


def vocabulary_size(vocabulary: dict) -> int:
    """Number of token ids of a saved vocabulary (a :class:`~emolab.preprocessing.text.Vocabulary`'s tokens
    plus padding and out-of-vocabulary, or a WordPiece vocabulary's size)."""
    return int(vocabulary["size"]) if vocabulary.get("kind") == "wordpiece" else len(vocabulary["tokens"]) + 2


def model_config_for(kind: str, dataset: str, path: str | os.PathLike, prep: dict, X: Any, overrides: dict | None = None) -> dict:
    """Model settings that follow from the data (vocabulary size, speech window, clip shape), plus ``overrides``."""
    cfg = dict(overrides or {})
    if kind == "text":
        cfg.setdefault("vocab_size", vocabulary_size(prep["vocabulary"]))
        if cfg.get("context"):
            from ..preprocessing.text import SEP

            cfg["sep_id"] = prep["vocabulary"]["tokens"].index(SEP) + 2
            cfg.setdefault("packed", True)
    if dataset in SYNTHETIC_DATASETS and kind in ("fused", "speech"):  # the speech window the inputs were cut with
        from ..synth.trainset import TrainsetConfig

        secs = TrainsetConfig.load(Path(path) / "trainset.json").audio_seconds
        if kind == "speech":
            cfg.setdefault("seconds", secs)
        else:
            cfg.setdefault("speech", {})
            cfg["speech"] = {**cfg["speech"], "seconds": secs}
    if kind == "fused" and prep.get("vocabulary"):
        cfg.setdefault("text", {"vocab_size": len(prep["vocabulary"]["tokens"]) + 2, "embedding": 64, "hidden": 64, "max_len": 24})
    if kind in ("face3d", "cnn_lstm") and isinstance(X, np.ndarray):
        cfg.setdefault("frames", X.shape[2])
        cfg.setdefault("size", X.shape[-1])
    return cfg


def resolve_model_path(name: str | os.PathLike) -> Path:
    """A model file from a path, or a bundled pretrained model's name (``face``, ``speech``, ...)."""
    p = Path(name)
    if p.is_file():
        return p
    if p.is_dir() and (p / "model.safetensors").is_file():
        return p / "model.safetensors"
    bundled = PRETRAINED_DIR / f"{name}.safetensors"
    if bundled.is_file():
        return bundled
    from ..errors import ModelError

    raise ModelError(f"no model file or bundled model named {str(name)!r}", hint=f"give a .safetensors path or one of {', '.join(BUNDLED_MODELS)}")
