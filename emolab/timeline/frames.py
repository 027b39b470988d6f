"""The frame of a lesson at a given time, with boxes and pseudonymous ids, faces blurred by default."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pandas as pd

from ..errors import MediaError
from .charts import EMOTION_COLORS


def read_frame(video: str | os.PathLike, t: float) -> np.ndarray:
    """The BGR frame at time ``t`` seconds (seeking, not decoding the whole video), upright as the analysis saw it."""
    from ..preprocessing.video import open_video

    cap = open_video(video)
    try:
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, t) * 1000.0)
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok or frame is None:
        raise MediaError(f"no frame at {t:.1f} s", path=video)
    return frame


def annotated_frame(video: str | os.PathLike, t: float, faces: pd.DataFrame, timeline: pd.DataFrame | None = None,
                    blur: bool = True, persons: list[str] | None = None, max_width: int = 640) -> np.ndarray:
    """The frame at ``t`` with each person's box, id and current emotion; faces blurred unless
    ``blur=False``. Returns an RGB image [H, W, 3] uint8 for display."""
    frame = read_frame(video, t)
    if len(faces):
        near = faces.iloc[(faces["t"] - t).abs().argsort()[:1]]["t"].iloc[0] if len(faces) else t
        here = faces[(faces["t"] - near).abs() < 1e-6]
        emo = {}
        if timeline is not None and len(timeline):
            sec = timeline[timeline["t"] == np.floor(t)]
            emo = dict(zip(sec["person"], sec["emotion"]))
        for r in here.itertuples():
            x, y, w, h = int(r.x), int(r.y), int(r.w), int(r.h)
            x0, y0 = max(0, x - w // 4), max(0, y - h // 3)
            x1, y1 = min(frame.shape[1], x + w + w // 4), min(frame.shape[0], y + h + h // 4)
            if blur and x1 > x0 and y1 > y0:
                k = (max(x1 - x0, y1 - y0) // 2) | 1
                frame[y0:y1, x0:x1] = cv2.GaussianBlur(frame[y0:y1, x0:x1], (k, k), 0)
            focus = persons is None or r.person in persons
            e = emo.get(r.person, "")
            hexcol = EMOTION_COLORS.get(e, "#ffffff").lstrip("#")
            color = tuple(int(hexcol[i:i + 2], 16) for i in (4, 2, 0))  # BGR
            cv2.rectangle(frame, (x, y), (x + w, y + h), color if focus else (120, 120, 120), 2 if focus else 1)
            label = f"{r.person} {e}".strip()
            cv2.putText(frame, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.putText(frame, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
    if frame.shape[1] > max_width:
        s = max_width / frame.shape[1]
        frame = cv2.resize(frame, (max_width, int(frame.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
