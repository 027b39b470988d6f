"""The models a lesson analysis runs, behind one small interface.

:class:`LessonModels` turns face clips, speech windows and utterances into per-item features,
and fuses the features available for a person at a moment into emotion probabilities:

* ``"synthetic"`` (:class:`FusedLessonModels`): the fused model trained on synthetic lessons;
  features are its branch embeddings, fusion its own (feature-level) head with masks.
* ``"pretrained"`` (:class:`LateFusionLessonModels`): the real models shipped with emolab (face
  CNN on FER2013, speech model on RAVDESS (a pretrained voice encoder and a linear head), text LSTM on MELD); features are each model's class
  probabilities, fused by weighted late fusion (default weights face 0.5, speech 0.25, text 0.25,
  renormalised over the modalities present). A model that is not shipped is skipped.

Inference runs in bf16 with channels-last tensors on CPUs with native bf16 (``precision="auto"``;
measured 4x faster for the face CNN on this project's CPU, see ``benchmarks/RESULTS.md``), in
fp16 on CUDA, and in fp32 elsewhere or with ``precision="fp32"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ..errors import ModelError
from ..registry import FRAME_FACE_KINDS, PRETRAINED_DIR
from ..taxonomy import EMOTIONS
from .fusion import MODALITIES
from .gaze import GAZE_FILE, load_gaze_probe
from .io import load_model

DEFAULT_WEIGHTS = {"face": 0.5, "speech": 0.25, "text": 0.25}


def read_frames(readable: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Which frames of each clip a per-frame face model reads: every ``step``-th of its readable frames.

    Parameters
    ----------
    readable : np.ndarray [shape=(n_clips, clip_frames), dtype=bool]
        Frames that passed the readability rule; a clip with none marked is read on all its frames.
    step : int
        1 reads every readable frame; 2 the 1st, 3rd, 5th ... of them.

    Returns
    -------
    rows, cols : np.ndarray [shape=(n_read,), dtype=int64]
        Clip and frame of each frame read, grouped by clip in clip order (every clip has at least one).
    """
    readable = np.asarray(readable, bool)
    readable = readable | ~readable.any(1, keepdims=True)
    rank = np.cumsum(readable, 1) - 1  # position of each readable frame among its clip's readable frames
    rows, cols = np.nonzero(readable & (rank % step == 0))
    return rows, cols


# The calibrated speech model's answers below this confidence are left empty. Out of fold over RAVDESS actors
# 01-18 (session 24's speaker-normalised head, each speaker read with all of their utterances) every confidence
# bin below 0.5 is right 0-48 % of the time, every bin from 0.5 up 53-93 %; at 0.5 it keeps 87 % of utterances at
# 82.5 % accuracy (session 18's head: 37-49 % / 60-94 %, 79 % kept at 77 %) (emolab/pretrained/speech.md,
# "Calibration and abstention"; benchmarks/bench_speech_duration.py reads the same threshold).
SPEECH_ABSTAIN = 0.5
# A turn shorter than this (seconds) gets no speech emotion and stands for no second of its speaker's timeline.
# Out of fold over RAVDESS actors 01-18, speech cut to its first 0.25-2 s and centred in a 3-s window of near
# silence, pink noise or babble at 10 dB: the answers kept at SPEECH_ABSTAIN are right 20-43 % of the time up to
# 0.75 s, 41-56 % at 1 s (babble: 41 %) and 53-78 % from 1.5 s in every bed, while the model stays as confident as
# on whole utterances (benchmarks/bench_speech_duration.py, docs/speech.md "How much speech").
SPEECH_MIN_SECONDS = 1.5


class LessonModels:
    """Interface (see the module docstring). Attributes describe the inputs each branch wants."""

    name = "base"
    clip_frames: int = 8  # face frames per clip (1: single frames)
    face_size: int = 48
    face_margin: float = 0.2  # crop margin around the face box (crop_face), as the face model was trained
    speech_seconds: float = 1.6
    speech_abstain: float = 0.0  # a turn's speech emotion is not given below this confidence (the model is near chance there)
    speech_min_seconds: float = 0.0  # nor for a turn shorter than this (s), whose speech is not read into the timeline either
    available: tuple[str, ...] = ()
    gaze = None  # a GazeProbe (emolab.models.gaze): frames looking down are not read (pretrained face CNN only)

    def face(self, clips: np.ndarray, face_px: Optional[np.ndarray] = None, readable: Optional[np.ndarray] = None) -> np.ndarray:
        """Features of face clips uint8 [n, clip_frames, size, size] -> [n, d].

        ``face_px`` [n]: face box height (px, in the analysed frame) of each clip, for models whose
        calibration depends on the face's size (:func:`emolab.calibration.temperature_for`).
        ``readable`` [n, clip_frames] bool: the frames that passed the readability rule; per-frame
        models read only those (clip models see every frame)."""
        raise NotImplementedError

    def face_readings(self, clips: np.ndarray, face_px: Optional[np.ndarray] = None,
                      readable: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`face`, leaving out the clips that look down (models with a gaze probe,
        :mod:`emolab.models.gaze`).

        Returns
        -------
        features : np.ndarray [shape=(n, d)]
            As :meth:`face`; NaN rows for clips whose read frames look down.
        down : np.ndarray [shape=(n, clip_frames), dtype=bool]
            The frames read in those clips (all False for a model without a probe).
        """
        return self.face(clips, face_px=face_px, readable=readable), np.zeros(np.shape(clips)[:2], bool)

    def speech(self, windows: np.ndarray) -> np.ndarray:
        """Features of 16 kHz waveforms [n, samples] -> [n, d]."""
        raise NotImplementedError

    def speech_at(self, y: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Features of the ``speech_seconds`` windows of one 16 kHz track ``y`` that begin at
        ``starts`` (samples; zero-padded past the end) -> [n, d]. Same as :meth:`speech` on the cut
        windows; the shipped models share the feature work of overlapping windows
        (:func:`emolab.preprocessing.inputs.speech_inputs_at`)."""
        from ..preprocessing.audio import SAMPLE_RATE

        win = int(self.speech_seconds * SAMPLE_RATE)
        cut = [np.pad(y[a:a + win], (0, win - len(y[a:a + win]))) for a in np.asarray(starts, int)]
        return self.speech(np.array(cut, np.float32).reshape(len(cut), win))

    def speech_by_speaker(self, features: np.ndarray, speakers: list) -> np.ndarray:
        """:meth:`speech_at`'s features [n, d] of one lesson's windows, with ``speakers`` [n] (who each window's turn
        is attributed to), as a speaker-normalised head reads them: each speaker's windows centred on their own mean
        (:mod:`emolab.models.speaker_adapt`). Models without such a head return ``features`` unchanged."""
        return features

    def text(self, texts: list[str], speakers: Optional[list[str]] = None) -> np.ndarray:
        """Features of utterances -> [n, d].

        ``texts`` are one lesson's utterances in time order and ``speakers`` who said each ("" when
        unknown): a text model with previous-utterance context reads each utterance after the ones before it
        (the first has none), one with a dialogue head (:mod:`emolab.models.dialogue`) corrects each answer from the
        answers around it; other models read each alone."""
        raise NotImplementedError

    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        """Probabilities [n, 7] from row-aligned features and a mask [n, 3] (face, speech, text)."""
        raise NotImplementedError


def _batches(n: int, size: int):
    for a in range(0, n, size):
        yield slice(a, min(n, a + size))


class _Runner:
    """Runs a module on numpy batches in the chosen precision and memory format (no gradients)."""

    def __init__(self, device: str, precision: str = "auto"):
        from ..training import resolve_precision

        self.device = device
        self.dtype = resolve_precision(precision, device)

    def prepare(self, module: torch.nn.Module) -> torch.nn.Module:
        """An inference copy of ``module``: eval mode, batch-norms folded into their convolutions, ReLUs after
        the max-pools that follow them, 2x2 max-pools as strided maxima (both exact), and the memory format its
        kernels run fastest in."""
        from .blocks import fast_max_pool, fold_batchnorm, pool_before_relu

        module = fast_max_pool(pool_before_relu(fold_batchnorm(module)))
        fmt = self._format(module)
        if self.dtype is not None and fmt is not None:
            module.to(memory_format=fmt)
        return module

    @staticmethod
    def _format(module: torch.nn.Module):
        kind = getattr(module, "kind", "")
        return torch.channels_last if kind in FRAME_FACE_KINDS else torch.channels_last_3d if kind == "face3d" else None

    @torch.inference_mode()
    def __call__(self, fn, module: torch.nn.Module, x: np.ndarray, batch: int) -> np.ndarray:
        from ..training import _tensor

        fmt = self._format(module) if self.dtype is not None else None
        dev = "cuda" if self.device.startswith("cuda") else "cpu"
        out = []
        for s in _batches(len(x), batch):
            t = _tensor(x[s]).to(self.device)
            if fmt is not None and t.dim() in (4, 5):
                t = t.contiguous(memory_format=fmt)
            with torch.autocast(dev, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
                out.append(fn(t).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


class FusedLessonModels(LessonModels):
    """A trained :class:`~emolab.models.FusedModel` (e.g. the synthetic-domain one)."""

    def __init__(self, path: str | Path, device: str = "cpu", precision: str = "auto"):
        from ..preprocessing.text import text_tokenizer

        self.model, self.meta = load_model(path, map_location=device)
        if self.meta["kind"] != "fused":
            raise ModelError("a lesson model must be a fused model", path=path)
        self.device = device
        self._run = _Runner(device, precision)
        self.model.eval()
        for name in list(self.model.branches):
            self.model.branches[name] = self._run.prepare(self.model.branches[name])
        c = self.model.config
        self.name = Path(path).stem
        self.available = tuple(c.modalities)
        self.clip_frames, self.face_size = c.face.frames, c.face.size
        self.speech_seconds = c.speech.seconds
        voc = self.meta["preprocessing"].get("vocabulary")
        self.vocab = text_tokenizer(voc) if voc else None

    def _embed(self, branch: str, x: np.ndarray) -> np.ndarray:
        br = self.model.branches[branch]
        if not len(x):
            return np.zeros((0, br.embed_dim), np.float32)
        return self._run(br.embed, br, x, 64)

    def face(self, clips: np.ndarray, face_px: Optional[np.ndarray] = None, readable: Optional[np.ndarray] = None) -> np.ndarray:
        return self._embed("face", clips[:, None])

    def speech(self, windows: np.ndarray) -> np.ndarray:
        from ..preprocessing.inputs import speech_inputs_from_waves

        if not len(windows):
            return np.zeros((0, self.model.branches["speech"].embed_dim), np.float32)
        return self._embed("speech", speech_inputs_from_waves(windows, self.speech_seconds, self.model.config.speech.feature))

    def speech_at(self, y: np.ndarray, starts: np.ndarray) -> np.ndarray:
        from ..preprocessing.inputs import speech_inputs_at

        return self._embed("speech", speech_inputs_at(y, starts, self.speech_seconds, self.model.config.speech.feature))

    def text(self, texts: list[str], speakers: Optional[list[str]] = None) -> np.ndarray:
        if self.vocab is None or "text" not in self.model.branches:
            raise ModelError("this fused model has no text branch")
        return self._embed("text", self.vocab.transform(texts))

    @torch.no_grad()
    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        cols = [MODALITIES.index(m) for m in self.model.config.modalities]
        dev = next(self.model.parameters()).device
        m = torch.as_tensor(mask[:, cols], dtype=torch.bool, device=dev)
        out = []
        for s in _batches(len(mask), 512):
            emb = {k: torch.as_tensor(v[s], dtype=torch.float32, device=dev) for k, v in features.items() if k in self.model.branches}
            out.append(torch.softmax(self.model.fuse(emb, m[s]).float(), 1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)))


class LateFusionLessonModels(LessonModels):
    """The real pretrained face, speech and text models, fused late with given weights.

    The face model is a per-frame CNN: a clip's face probabilities are the mean over every
    ``frame_step``-th of its readable frames (:func:`read_frames`; default 3: frames 1 and 4 of a fully
    readable 1-s clip at 5 frames/s; 2: frames 1, 3 and 5; 1: all). The frames of one second are nearly
    alike: on the real-face composites 2, 3 and 5 frames read equally well within the benchmark's
    resolution (sessions 8 and 14 in ``benchmarks/RESULTS.md``), and 2 frames cost 60 % less than 5. Frames the readability
    rule rejects are never read.

    Every model's probabilities are calibrated by temperature scaling
    (:func:`emolab.calibration.temperature_for`; the face model's temperature grows as faces get
    smaller, as fitted on shrunk FER2013 faces), so ``confidence`` in a timeline means what it says.
    """

    def __init__(self, weights: Optional[dict[str, float]] = None, folder: str | Path = PRETRAINED_DIR, device: str = "cpu",
                 precision: str = "auto", frame_step: int = 3):
        from ..preprocessing.text import text_tokenizer

        self.weights = dict(DEFAULT_WEIGHTS, **(weights or {}))
        self.device = device
        if frame_step < 1:
            raise ModelError(f"frame_step must be >= 1, got {frame_step}")
        self.frame_step = int(frame_step)
        if precision not in ("auto", "int8", "fp32", "bf16", "fp16"):
            raise ModelError(f"precision must be auto, int8, fp32, bf16 or fp16 (got {precision!r})")
        self._run = _Runner(device, "auto" if precision == "int8" else precision)
        self._plain = _Runner(device, "fp32")  # for the int8 face model: no autocast, its own memory format
        self.precision = {}
        self.models, self.metas = {}, {}
        from .quantize import int8_file

        for m, name in (("face", "face"), ("speech", "speech"), ("text", "text")):
            p = Path(folder) / f"{name}.safetensors"
            if p.is_file():
                self.models[m], self.metas[m] = load_model(p, map_location=device)
                q = self._int8(self.models[m], self.metas[m], int8_file(folder, name), precision, device)
                self.models[m] = q if q is not None else self._run.prepare(self.models[m])
                self.precision[m] = "int8" if q is not None else str(self._run.dtype or torch.float32).replace("torch.", "")
        if not self.models:
            raise ModelError("no pretrained models are shipped in this installation", path=folder,
                             hint="use model='synthetic' or train them (see docs/pretrained.md)")
        self.name = "pretrained"
        self.available = tuple(self.models)
        # FER2013's framing: a YuNet box with margin 0.06 matches it (mediapipe's box measured 0.887 of a FER image's
        # side). On the labelled CREMA-D clips (129 frames) frame accuracy is 45.0 % at margin 0.06 against 30.2 % at
        # 0.2 (which collapses to happiness/neutral); on real-face composites 41.7 % against 34.4 % (docs/readability.md).
        self.face_margin = 0.06
        self.speech_abstain = SPEECH_ABSTAIN
        self.speech_min_seconds = SPEECH_MIN_SECONDS
        face = self.models.get("face")
        self.clip_frames = 5 if face is None or face.kind != "face3d" else face.config.frames  # per-frame models: averaged over 1 s at 5 fps
        self.face_size = 48 if face is None else face.config.size
        self.gaze = (None if face is None or face.kind == "face3d"
                     else load_gaze_probe(Path(folder) / GAZE_FILE, self.metas["face"].get("sha256", "")))
        sp = self.metas.get("speech")
        self.speech_seconds = float(sp["preprocessing"].get("seconds", 3.0)) if sp else 3.0
        tx = self.metas.get("text")
        self.vocab = text_tokenizer(tx["preprocessing"]["vocabulary"]) if tx else None

    @staticmethod
    def _int8(model: torch.nn.Module, meta: dict, path: Path, precision: str, device: str) -> Optional[torch.nn.Module]:
        """The int8 copy of a model from its int8 file for this CPU (:func:`~emolab.models.quantize.int8_file`:
        ``<name>.int8.safetensors``, or ``<name>.int8-7bit.safetensors`` without AVX-512 VNNI) where ``precision``
        allows it (auto, int8) on a CPU, else None (only the face CNN's ships)."""
        from .quantize import int8_copy

        if precision not in ("auto", "int8") or device != "cpu":
            if precision == "int8":
                raise ModelError("int8 inference runs on CPUs only", hint="use precision='auto' on a GPU")
            return None
        q = int8_copy(model, meta.get("sha256", ""), path)
        if q is None and precision == "int8" and getattr(model, "kind", "") == "face2d":
            raise ModelError("no int8 copy of the face model can be made here (no x86 int8 engine, or no int8 file "
                             "for this CPU made from these weights)", path=path, hint="use precision='auto'")
        return q

    def _logits(self, m: str, x: np.ndarray) -> np.ndarray:
        """Model ``m``'s logits [n, k] (float64) of inputs ``x``, at this object's precision."""
        model = self.models[m]
        run = self._plain if self.precision.get(m) == "int8" else self._run
        return run(lambda t: model(t).float(), model, x, 128).astype(np.float64)

    def _logits_embedding(self, m: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model ``m``'s logits [n, k] and embeddings [n, d] (float64) from one pass (its ``read``)."""
        model = self.models[m]
        run = self._plain if self.precision.get(m) == "int8" else self._run
        both = run(lambda t: torch.cat([o.float() for o in model.read(t)], 1), model, x, 128).astype(np.float64)
        k = len(EMOTIONS)
        return both[:, :k], both[:, k:]

    def _probs(self, m: str, x: np.ndarray, temperature: float | np.ndarray = 1.0, logits: Optional[np.ndarray] = None) -> np.ndarray:
        """Calibrated probabilities: softmax(logits / temperature), one temperature or one per row (``logits``: already
        computed for ``x``)."""
        if not len(x):
            return np.zeros((0, len(EMOTIONS)), np.float32)
        logits = self._logits(m, x) if logits is None else logits
        t = np.asarray(temperature, np.float64)
        z = logits / (t[:, None] if t.ndim else t)
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        return (p / p.sum(1, keepdims=True)).astype(np.float32)

    def face(self, clips: np.ndarray, face_px: Optional[np.ndarray] = None, readable: Optional[np.ndarray] = None) -> np.ndarray:
        """Face probabilities of clips: every ``frame_step``-th of each clip's readable frames (all frames
        where ``readable`` is not given, or where no frame of a clip is marked), each calibrated for the
        face's size (``face_px``), averaged. The gaze is not checked (:meth:`face_readings` does)."""
        return self._face(clips, face_px, readable, gaze=False)[0]

    def face_readings(self, clips: np.ndarray, face_px: Optional[np.ndarray] = None,
                      readable: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`face`, except for clips whose read frames look down on average (the gaze probe's score,
        :attr:`gaze`, averaged over them reaches its threshold): their rows are NaN and their read frames
        marked; without a probe, :meth:`face`. See :meth:`LessonModels.face_readings`."""
        return self._face(clips, face_px, readable, gaze=True)

    def _face(self, clips: np.ndarray, face_px: Optional[np.ndarray], readable: Optional[np.ndarray],
              gaze: bool) -> tuple[np.ndarray, np.ndarray]:
        from ..calibration import temperature_for

        down = np.zeros(np.shape(clips)[:2], bool)
        if "face" not in self.models:
            return np.zeros((len(clips), len(EMOTIONS)), np.float32), down
        t = temperature_for("face") if face_px is None else np.asarray(temperature_for("face", face_px=np.asarray(face_px, float)))
        if self.models["face"].kind == "face3d":
            return self._probs("face", clips[:, None], t), down
        if not len(clips):
            return np.zeros((0, len(EMOTIONS)), np.float32), down
        rows, cols = read_frames(np.ones(clips.shape[:2], bool) if readable is None else readable, self.frame_step)
        x = clips[rows, cols][:, None]
        logits, n = None, np.bincount(rows, minlength=len(clips))
        if gaze and self.gaze is not None:
            # the clip is the unit that stands for a second: it looks down when its read frames do on average
            logits, embedding = self._logits_embedding("face", x)
            score = np.bincount(rows, weights=self.gaze.score(embedding), minlength=len(clips)) / np.maximum(n, 1)
            clip_down = score >= self.gaze.threshold
            down[rows, cols] = clip_down[rows]
        p = self._probs("face", x, t[rows] if np.ndim(t) else t, logits=logits)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out = np.add.reduceat(p, starts, axis=0) / np.diff(np.r_[starts, len(rows)])[:, None]
        if down.any():
            out[down.any(1)] = np.nan
        return out, down

    def speech(self, windows: np.ndarray) -> np.ndarray:
        from ..preprocessing.inputs import speech_inputs_from_waves

        if "speech" not in self.models or not len(windows):
            return np.zeros((len(windows), len(EMOTIONS)), np.float32)
        return self._probs("speech", speech_inputs_from_waves(windows, self.speech_seconds, self.models["speech"].config.feature),
                           self._temperature("speech"))

    def speech_at(self, y: np.ndarray, starts: np.ndarray) -> np.ndarray:
        from ..preprocessing.inputs import speech_inputs_at

        if "speech" not in self.models or not len(starts):
            return np.zeros((len(starts), len(EMOTIONS)), np.float32)
        return self._probs("speech", speech_inputs_at(y, starts, self.speech_seconds, self.models["speech"].config.feature),
                           self._temperature("speech"))

    def speech_by_speaker(self, features: np.ndarray, speakers: list) -> np.ndarray:
        m = self.models.get("speech")
        shrink = float(getattr(getattr(m, "config", None), "speaker_shrink", 0.0) or 0.0)
        if m is None or shrink <= 0 or not len(features):
            return features
        from .speaker_adapt import speaker_adapt

        # one window per second of speech, each 3 s long: a window is worth 1/3 of a ~3-s training utterance
        return speaker_adapt(np.log(np.clip(features, 1e-12, 1.0)), speakers, bias=m.head[-1].bias.detach().double().cpu().numpy(),
                             shrink=shrink, amount=np.full(len(features), 1.0 / self.speech_seconds),
                             temperature=self._temperature("speech")).astype(np.float32)

    def text(self, texts: list[str], speakers: Optional[list[str]] = None) -> np.ndarray:
        if "text" not in self.models:
            return np.zeros((len(texts), len(EMOTIONS)), np.float32)
        k = int(getattr(self.models["text"].config, "context", 0))
        if k:  # the lesson is one dialogue: each utterance after the k before it
            from ..preprocessing.text import context_transform

            ids = context_transform(self.vocab, texts, speakers=speakers, k=k)
        else:
            ids = self.vocab.transform(texts)
        from .dialogue import with_dialogue

        if not len(ids):
            return np.zeros((0, len(EMOTIONS)), np.float32)
        order = np.argsort((ids != 0).sum(1), kind="stable")  # similar lengths batched together: the MiniLM encoder reads no padding
        z = np.empty((len(ids), len(EMOTIONS)), np.float64)
        z[order] = self._logits("text", ids[order])
        z = with_dialogue(self.models["text"], z, speakers=speakers)  # a dialogue head reads the lesson as one dialogue, in order
        return self._probs("text", ids, self._temperature("text"), logits=z)

    @staticmethod
    def _temperature(name: str) -> float:
        from ..calibration import temperature_for

        return float(temperature_for(name))

    def fuse(self, features: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        n = len(mask)
        w = np.array([self.weights.get(m, 0.0) if m in self.models else 0.0 for m in MODALITIES])[None, :] * mask
        total = w.sum(1, keepdims=True)
        probs = np.zeros((n, len(EMOTIONS)))
        for i, m in enumerate(MODALITIES):
            if m in features and m in self.models:
                probs += np.where(total > 0, w[:, i:i + 1] / np.maximum(total, 1e-12), 0) * features[m]
        probs[total[:, 0] == 0] = 1.0 / len(EMOTIONS)
        return probs


def load_lesson_models(name: str = "pretrained", device: str = "cpu", weights: Optional[dict[str, float]] = None,
                       precision: str = "auto", frame_step: int = 3) -> LessonModels:
    """``"synthetic"`` (bundled synthetic-domain fused model), ``"pretrained"`` (real models, late
    fusion), or a path to a fused ``.safetensors`` model; inference ``precision`` "auto" (on a CPU: the
    pretrained face CNN in int8 where its int8 file ships, other models in bf16 where the CPU has it,
    else fp32; fp16 on CUDA), "int8" (the same, but an error where the face CNN cannot run in int8), "fp32",
    "bf16" or "fp16"; ``frame_step``: see
    :class:`LateFusionLessonModels` (the fused models' 3-D face branch always sees every frame)."""
    if name == "pretrained":
        return LateFusionLessonModels(weights=weights, device=device, precision=precision, frame_step=frame_step)
    if name == "synthetic":
        p = PRETRAINED_DIR / "synthetic.safetensors"
        if not p.is_file():
            raise ModelError("the synthetic-domain model is not bundled in this installation", path=p)
        return FusedLessonModels(p, device, precision)
    return FusedLessonModels(name, device, precision)
