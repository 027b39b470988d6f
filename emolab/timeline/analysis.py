"""A lesson recording in; per-student, per-second emotion timelines out.

:func:`analyze_lesson` composes the stages of :mod:`emolab.timeline.stages`: the video is
streamed once (faces detected, tracked into pseudonymous identities, cropped, their clips read by
the face model); the audio is cut into speaking turns (the transcript's cues, or speech activity),
each attributed to the visible person whose mouth moves with it, and read by the speech model;
transcript utterances go through the text model. For every person and second the modalities
present are fused (a missing one simply does not contribute), smoothed over time and written as
tidy tables. A person is named teacher only on evidence (:func:`~emolab.preprocessing.speakers.assign_roles`).
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..errors import MediaError
from .result import AnalysisConfig, LessonAnalysis

__all__ = ["AnalysisConfig", "LessonAnalysis", "analyze_lesson"]


def analyze_lesson(video: str | os.PathLike, transcript: str | os.PathLike | None = None, *, audio: str | os.PathLike | None = None,
                   config: AnalysisConfig | None = None, out: str | os.PathLike | None = None, progress: bool = True,
                   models=None, callback: Optional[Callable[[str, float], None]] = None, thumbnails: bool = True) -> LessonAnalysis:
    """Analyse one lesson recording.

    Parameters
    ----------
    video : path
        The recording (any container OpenCV reads), or a lesson folder; a photo (jpg, png, webp, ...)
        is analysed as one time point (:func:`~emolab.timeline.photo.analyze_photo`).
    transcript : path, optional
        SRT/VTT/CSV transcript; by default one beside the video with the same name, if any.
    audio : path, optional
        Separate audio; by default the video's own track.
    config : AnalysisConfig
    out : path, optional
        Also write the results there (see :meth:`LessonAnalysis.write`).
    progress : bool
        tqdm progress bar.
    models : LessonModels, optional
        Already loaded models (else ``config.model`` is loaded).
    callback : callable, optional
        ``callback(stage, fraction)`` for progress widgets.
    thumbnails : bool
        Keep each person's best face crop (in memory; blurred in the report).

    Returns
    -------
    LessonAnalysis
    """
    from ..data.corpora.lesson import find_lesson_files
    from ..data.transcripts import read_transcript
    from ..models.gaze import gaze_threshold
    from ..models.lesson import load_lesson_models
    from ..preprocessing.speakers import assign_roles, attribute_turns, face_rms, speech_turns
    from ..preprocessing.video import video_info
    from .stages import fuse_seconds, lesson_tables, read_faces, read_speech, read_text, smooth_timeline
    from .photo import analyze_photo, is_photo
    from .summary import readability_summary

    cfg = (config or AnalysisConfig()).on_device()
    if is_photo(video):
        return analyze_photo(video, config=cfg, models=models, out=out, thumbnails=thumbnails)
    report = callback or (lambda stage, frac: None)
    t_start = time.perf_counter()
    files = find_lesson_files(video)
    transcript = transcript if transcript is not None or not cfg.use_transcript else files.transcript
    info = video_info(files.video)
    tr_table = read_transcript(transcript) if transcript else None  # a bad transcript fails now, not after the video pass
    with ThreadPoolExecutor(1, thread_name_prefix="emolab-audio") as pool:  # the audio loads beside the video pass
        audio_job = pool.submit(_load_track, audio or (files.audio if Path(video).is_dir() else None) or files.video,
                                detect_speech=tr_table is None or not len(tr_table))
        models = models or load_lesson_models(cfg.model, cfg.device, cfg.weights, cfg.precision, cfg.face_frame_step)
        early_speech = pool.submit(_early_speech, audio_job, tr_table, info.duration, models)
        face = read_faces(files.video, models, cfg, progress=progress, thumbnails=thumbnails, report=report, duration=info.duration)
        report("faces", 1.0)
        y, audio_error, segments = audio_job.result()
        y = _usable_audio(y, audio_error, transcript=transcript)
    _check_transcript_length(tr_table, info.duration)
    faces = face.sightings
    faces["rms"] = face_rms(faces["t"].to_numpy(), y, cfg.sample_fps)
    turns = attribute_turns(speech_turns(tr_table, y, info.duration, vad=lambda a, sr: segments), faces)
    report("speech", 0.5)
    speech, text = read_speech(turns, y, models, early=early_speech.result()), read_text(turns, models)
    report("speech", 1.0)
    timeline = smooth_timeline(fuse_seconds(models, faces, turns, {"face": face, "speech": speech, "text": text}),
                               method=cfg.smoothing, ema_alpha=cfg.ema_alpha, hmm_stay=cfg.hmm_stay)
    cast = assign_roles(faces, turns, teacher_share=cfg.teacher_share)
    roles = cast.roles
    rename = {p: ("T" if r == "teacher" else p) for p, r in roles.items()}
    for df in (timeline, faces, turns):
        df["person"] = df["person"].map(lambda p: rename.get(p, p))
    result = lesson_tables(timeline, faces, turns, speech, text, models, cfg, {rename[p]: r for p, r in roles.items()}, info.duration)
    result.info = {"video": str(files.video), "transcript": str(transcript) if transcript else "", "duration": info.duration,
                   "fps": info.fps, "width": info.width, "height": info.height, "frames_analyzed": face.n_frames, "model": models.name,
                   "precision": dict(getattr(models, "precision", {}) or {}),
                   "modalities_available": list(models.available), "seconds": time.perf_counter() - t_start,
                   "detector_grid": face.grid, "n_people": int(faces["person"].nunique()),
                   "readability": readability_summary(result.timeline, result.students),
                   "looking_down_threshold": gaze_threshold(models),
                   "teacher": cast.reason.replace(str(cast.teacher), "T") if cast.teacher else cast.reason}
    result.thumbnails = {rename.get(p, p): img for p, img in face.thumbnails.items()}
    if out is not None:
        result.write(out)
        if cfg.save_faces:  # only when asked: these are identifiable images of people
            _save_faces(Path(out), [(rename.get(p, p), t, img) for p, t, img in face.crops])
    report("done", 1.0)
    return result


def _load_track(path: str | os.PathLike, *, detect_speech: bool = True):
    """The 16 kHz audio track and its speech regions, or the :class:`MediaError` that says why there is none.

    Runs in a thread beside the video pass: loading and speech detection (Silero, ~5 s of one core for a
    10-minute lesson) overlap the video pass, and so does :func:`_early_speech` after it in the same thread
    (which pays librosa's first call, ~1.5 s of imports, only for MFCC models: log-mel features do not
    import librosa).

    Returns
    -------
    (np.ndarray or None, MediaError or None, pandas.DataFrame or None)
        The track, the error, and :func:`~emolab.preprocessing.vad.speech_segments` of the track
        (None when ``detect_speech`` is off or there is no track).
    """
    from ..preprocessing.audio import load_audio
    from ..preprocessing.vad import speech_segments

    try:
        y = load_audio(path)
    except MediaError as exc:
        return None, exc, None
    segments = speech_segments(y) if detect_speech and len(y) else None
    return y, None, segments


def _early_speech(audio_job, tr_table, duration: float, models):
    """The speech model on the windows of every speaking turn, in the audio thread while the video pass runs (the
    windows depend on the turns' times only, known before anyone is attributed); ``(starts, features)`` for
    :func:`~emolab.timeline.stages.read_speech`, or None (no track, no speech model, or a failure: read after the pass,
    where any error is raised as before)."""
    from ..preprocessing.speakers import speech_turns
    from .stages import speech_features, speech_windows

    try:
        y, error, segments = audio_job.result()
        if y is None or error is not None or "speech" not in models.available:
            return None
        turns = speech_turns(tr_table, y, duration, vad=lambda a, sr: segments, warn=False)
        starts = speech_windows(turns, models)[0]
        return starts, speech_features(y, starts, models)
    except Exception:
        return None


def _usable_audio(y: Optional[np.ndarray], error: Optional[MediaError], *, transcript) -> Optional[np.ndarray]:
    if error is not None:
        warnings.warn(f"no usable audio ({error}); the analysis uses faces{' and the transcript' if transcript else ''} only", stacklevel=3)
    return y


def _check_transcript_length(tr_table, duration: float) -> None:
    if tr_table is not None and len(tr_table) and tr_table["end"].max() > duration + 5:
        warnings.warn(f"the transcript runs to {tr_table['end'].max():.0f} s but the video lasts {duration:.0f} s; "
                      "later cues are ignored", stacklevel=3)


def _save_faces(out: Path, crops: list) -> None:
    import cv2

    from ..atomic import write_bytes

    for person, t, img in crops:
        ok, buf = cv2.imencode(".png", img)
        if ok:
            write_bytes(out / "faces" / person / f"{t:09.3f}.png", buf.tobytes())
