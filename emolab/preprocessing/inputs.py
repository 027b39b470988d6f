"""Model inputs from files and waveforms: face images as uint8 arrays, speech as fixed windows of
MFCC (+ deltas) or log-mel features, and many overlapping windows of one long track at once.

Used by the training recipes, the lesson models and :func:`lesson_windows` alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import EmolabError
from .audio import N_MFCC

SPEECH_SECONDS = 3.0


FACE_CROP_MARGIN = 0.06
"""Margin of :func:`~emolab.preprocessing.crops.crop_face` around a YuNet box that matches FER2013's framing (the
lessons' margin for the bundled face model, :class:`~emolab.models.lesson.PretrainedLessonModels`)."""


def load_face_images(manifest: pd.DataFrame, size: int = 48, progress: bool = True, crop: bool = True,
                     report: dict | None = None) -> np.ndarray:
    """Grayscale face images of a manifest as uint8 [n, size, size].

    An image no larger than ``2 * size`` on either side is taken as a face crop already (FER2013, CK+48) and
    resized. A larger one (a CK+ frame of 640x490, a photo) is searched for faces with YuNet when ``crop``:
    the largest face is cut out with FER2013's framing (:data:`FACE_CROP_MARGIN`); an image in which no face
    is found is read whole, resized.

    Parameters
    ----------
    manifest : pandas.DataFrame
        ``path`` (and ``row`` for FER2013's csv).
    size : int
        Side of the output in pixels.
    progress : bool
    crop : bool
        Find and cut out the face of large images (default); False: resize every image whole.
    report : dict, optional
        Filled with ``{"n", "cropped", "no_face"}``: images read, images whose face was found and cut out,
        large images in which no face was found.
    """
    import cv2
    from tqdm.auto import tqdm

    out = np.empty((len(manifest), size, size), np.uint8)
    rows = manifest["row"] if "row" in manifest.columns else pd.Series([np.nan] * len(manifest))
    cropped = no_face = 0
    detector = None
    try:
        for i, (path, row) in enumerate(tqdm(list(zip(manifest["path"], rows)), desc="face images", unit="img", disable=not progress, leave=False)):
            if str(path).lower().endswith(".csv") and not pd.isna(row):
                from ..data import load_fer2013_image

                img = load_fer2013_image(path, int(row))
            else:
                img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    from ..errors import MediaError

                    raise MediaError("cannot read image", path=path)
            if crop and max(img.shape) > 2 * size:
                if detector is None:
                    from .detection import FaceDetector

                    detector = FaceDetector(tiles=0)  # each image on its own: no scale carried from one to the next
                colour = None if str(path).lower().endswith(".csv") else cv2.imread(str(path), cv2.IMREAD_COLOR)
                faces = detector.detect(colour if colour is not None else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
                if faces:
                    from .crops import crop_face

                    out[i] = crop_face(img, max(faces, key=lambda d: d.w * d.h).box, size=size, margin=FACE_CROP_MARGIN)
                    cropped += 1
                    continue
                no_face += 1
            out[i] = img if img.shape == (size, size) else cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    finally:
        if detector is not None:
            detector.close()
    if report is not None:
        report.update({"n": int(len(manifest)), "cropped": cropped, "no_face": no_face})
    return out


def speech_input(y: np.ndarray, seconds: float = SPEECH_SECONDS, feature: str = "mfcc") -> np.ndarray:
    """Model input of one waveform (16 kHz): [1, F, frames] float32 of a centred fixed window."""
    from .audio import SAMPLE_RATE, fix_length

    y = fix_length(y, int(seconds * SAMPLE_RATE))
    return _features(y, feature)[None].astype(np.float32)


FEATURE_ROWS: dict[str, int] = {"mfcc": 3 * N_MFCC, "logmel": 64, "logmel40": 40}
"""Speech input features -> rows F of their [F, frames] maps: MFCC + deltas (3 x 20), log-mel in dB (64 or 40 mels)."""


def _features(y: np.ndarray, feature: str) -> np.ndarray:
    """[F, frames] features of a 16-kHz waveform, ``feature`` one of :data:`FEATURE_ROWS`."""
    from .audio import log_mel, mfcc_features

    _check_feature(feature)
    return mfcc_features(y) if feature == "mfcc" else log_mel(y, n_mels=FEATURE_ROWS[feature])


def _check_feature(feature: str) -> None:
    if feature not in FEATURE_ROWS:
        raise EmolabError(f"unknown speech feature {feature!r}; use one of {sorted(FEATURE_ROWS)}")


def load_speech_inputs(manifest: pd.DataFrame, seconds: float = SPEECH_SECONDS, feature: str = "mfcc",
                       progress: bool = True) -> np.ndarray:
    """Speech inputs [n, 1, F, frames] of a manifest's audio files (cached by file content)."""
    from tqdm.auto import tqdm

    from ..cache import FeatureCache
    from .audio import load_audio

    cache = FeatureCache("speech_input")
    settings = {"seconds": seconds, "feature": feature, "version": 1}
    items = []
    for path in tqdm(manifest["path"], desc="speech features", unit="file", disable=not progress, leave=False):
        items.append(cache.get_or_compute(path, settings, lambda p=path: speech_input(load_audio(p), seconds, feature)))
    return np.stack(items)


def utterance_window_starts(n_samples: int, seconds: float = SPEECH_SECONDS, hop: float = 1.0, sr: int = 16000) -> np.ndarray:
    """Where windows read a whole utterance: first samples of ``seconds``-long windows ``hop`` apart.

    Parameters
    ----------
    n_samples : int
        Length of the utterance in samples.
    seconds, hop : float
        Window length and step, in seconds.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    np.ndarray [shape=(k,), dtype=int64]
        ``0, hop, 2 hop, ...`` and a last window ending at the utterance's end, all inside it; empty for an
        utterance no longer than one window (it is read in one centred window, :func:`speech_input`).
    """
    win, step = int(round(seconds * sr)), int(round(hop * sr))
    if n_samples <= win:
        return np.zeros(0, np.int64)
    return np.unique(np.append(np.arange(0, n_samples - win, step, dtype=np.int64), n_samples - win))


def speech_windows_of(y: np.ndarray, seconds: float = SPEECH_SECONDS, feature: str = "mfcc", hop: float = 1.0) -> np.ndarray:
    """Model inputs [k, 1, F, frames] that read a whole utterance, however long its speech.

    The speech detector (:func:`emolab.preprocessing.vad.speech_span`, the lessons' Silero VAD) finds where the
    speech runs. When that span is longer than ``seconds``, it is read in windows ``hop`` seconds apart that
    cover it (:func:`utterance_window_starts`), each cut from the waveform and featurised on its own, as a
    training utterance is. Otherwise (a file of one short sentence, or no speech heard) the file gives its one
    centred window, exactly as :func:`speech_input` (k = 1): that is how the models were trained and selected.
    Windows over the speech alone keep a long file's silences out (a RAVDESS file's silent second at each end;
    ``docs/speech.md``, "Utterances longer than the window")."""
    from .audio import SAMPLE_RATE
    from .vad import speech_span

    y = np.asarray(y, np.float32)
    win = int(round(seconds * SAMPLE_RATE))
    span = speech_span(y, SAMPLE_RATE) if len(y) > win else None
    if span is None or span[1] - span[0] <= win:
        return speech_input(y, seconds, feature)[None]
    speech = y[span[0]:span[1]]
    return np.stack([speech_input(speech[s:s + win], seconds, feature) for s in utterance_window_starts(len(speech), seconds, hop, SAMPLE_RATE)])


def load_speech_windows(manifest: pd.DataFrame, seconds: float = SPEECH_SECONDS, feature: str = "mfcc", hop: float = 1.0,
                        progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every utterance of a manifest read whole: the windows of :func:`speech_windows_of` (cached by file content).

    Returns
    -------
    X : np.ndarray [shape=(m, 1, F, frames), dtype=float32]
        The windows of all files, file after file (m >= n).
    owner : np.ndarray [shape=(m,), dtype=int64]
        The manifest row (0..n-1) of each window.
    """
    from tqdm.auto import tqdm

    from ..cache import FeatureCache
    from .audio import HOP_SECONDS, load_audio

    cache = FeatureCache("speech_windows")
    settings = {"seconds": seconds, "feature": feature, "hop": hop, "span": "silero-vad", "version": 1}
    items = [cache.get_or_compute(path, settings, lambda p=path: speech_windows_of(load_audio(p), seconds, feature, hop))
             for path in tqdm(manifest["path"], desc="speech windows", unit="file", disable=not progress, leave=False)]
    if not items:
        _check_feature(feature)
        return np.zeros((0, 1, FEATURE_ROWS[feature], 1 + int(round(seconds / HOP_SECONDS))), np.float32), np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(items), dtype=np.int64), [len(w) for w in items])
    return np.concatenate(items), owner


def speech_inputs_from_waves(waves: np.ndarray, seconds: float, feature: str = "mfcc") -> np.ndarray:
    """Speech inputs [n, 1, F, frames] of an array of waveforms [n, samples] (16 kHz)."""
    return np.stack([speech_input(np.asarray(w, np.float32), seconds, feature) for w in waves])


def speech_inputs_at(y: np.ndarray, starts: np.ndarray, seconds: float = SPEECH_SECONDS, feature: str = "mfcc",
                     max_span: float = 60.0) -> np.ndarray:
    """Speech inputs of many windows of one track, each overlap's features computed once.

    A lesson asks for a 3-s window around every second of speech, so consecutive windows overlap
    by two thirds: computing each window's features on its own (:func:`speech_inputs_from_waves`)
    does the same work three times. Here the features are computed once over each run of
    overlapping windows (at most ``max_span`` seconds: memory stays flat) and each window is cut
    from them.

    Parameters
    ----------
    y : np.ndarray [shape=(samples,)]
        The track, mono 16 kHz.
    starts : np.ndarray [shape=(n,)]
        First sample of each window, in any order; rounded to the 10 ms feature hop. A window that
        runs past the end of the track is padded with silence, as in :func:`speech_input`.
    seconds : float
        Window length.
    feature : str
        One of :data:`FEATURE_ROWS`.

    Returns
    -------
    np.ndarray [shape=(n, 1, F, frames), dtype=float32]
        The same as ``speech_inputs_from_waves`` of the cut windows, except in the first and last
        6 frames of a window, which see the real neighbouring audio instead of the window's edge
        (the STFT's centring and the deltas' 9-frame context), and in near-silent frames: the
        -80 dB floor (both features) follows the loudest frame of the run rather than of the
        window. On the 10-minute benchmark lesson the speech model's probabilities moved by 0.0012
        on average and 0.041 at most.
    """
    from .audio import HOP_SECONDS, SAMPLE_RATE

    hop = int(round(HOP_SECONDS * SAMPLE_RATE))
    win = int(seconds * SAMPLE_RATE)
    n_frames = 1 + win // hop  # librosa's centred frames of one window
    starts = np.round(np.asarray(starts, np.float64) / hop).astype(np.int64) * hop
    if np.any(starts < 0):
        raise EmolabError("speech window starts must be >= 0 samples")
    order = np.argsort(starts, kind="stable")
    out: np.ndarray | None = None
    span = int(max_span * SAMPLE_RATE)
    i = 0
    while i < len(order):
        j = i + 1  # windows order[i:j] overlap one another and fit in one span
        while j < len(order) and starts[order[j]] < starts[order[j - 1]] + win and starts[order[j]] + win - starts[order[i]] <= span:
            j += 1
        a, b = int(starts[order[i]]), int(starts[order[j - 1]]) + win
        seg = np.asarray(y[a:b], np.float32)
        if len(seg) < b - a:
            seg = np.pad(seg, (0, b - a - len(seg)))
        feat = _features(seg, feature)
        if out is None:
            out = np.empty((len(starts), 1, feat.shape[0], n_frames), np.float32)
        for k in order[i:j]:
            f0 = int(starts[k] - a) // hop
            out[k, 0] = feat[:, f0:f0 + n_frames]
        i = j
    if out is None:
        _check_feature(feature)
        return np.zeros((0, 1, FEATURE_ROWS[feature], n_frames), np.float32)
    return out
