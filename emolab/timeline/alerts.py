"""Rule-based alerts: moments in a lesson worth a look.

Rules (thresholds in :class:`AlertConfig`):

* ``negative_valence``: a person's expected valence stays below ``negative_valence`` for at least
  ``negative_seconds`` consecutive seconds;
* ``absent``: a student is not visible for at least ``absent_seconds`` between first and last
  sighting (or from the lesson's start/to its end);
* ``engagement_drop``: the class's mean arousal proxy (1 - P(neutral) over visible students),
  averaged over ``window`` seconds, falls below ``engagement_drop`` times its average over the
  lesson's first quarter.

Alerts are prompts for a human look, not judgements about a child.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import Config

ALERT_COLUMNS = ("kind", "person", "start", "end", "seconds", "value", "message")


@dataclass
class AlertConfig(Config):
    negative_valence: float = -0.3
    negative_seconds: float = 30.0
    absent_seconds: float = 30.0
    engagement_drop: float = 0.6
    window: int = 60


def _runs(mask: np.ndarray, t: np.ndarray) -> list[tuple[float, float]]:
    """Consecutive-second runs where ``mask`` holds: [(start, end)] with end exclusive."""
    out, start, prev = [], None, None
    for ok, s in zip(mask, t):
        if ok and start is not None and s - prev > 1.5:
            out.append((start, prev + 1))
            start = s
        elif ok and start is None:
            start = s
        elif not ok and start is not None:
            out.append((start, prev + 1))
            start = None
        prev = s
    if start is not None:
        out.append((start, prev + 1))
    return out


def find_alerts(timeline: pd.DataFrame, students: pd.DataFrame, config: AlertConfig | None = None,
                duration: float | None = None) -> pd.DataFrame:
    """All alerts of a lesson as a tidy table (:data:`ALERT_COLUMNS`), sorted by start time."""
    c = config or AlertConfig()
    rows = []
    for p, tl in timeline.groupby("person"):
        tl = tl.sort_values("t")
        t = tl["t"].to_numpy()
        for a, b in _runs(tl["valence"].to_numpy() < c.negative_valence, t):
            if b - a >= c.negative_seconds:
                v = float(tl[(tl.t >= a) & (tl.t < b)]["valence"].mean())
                rows.append(("negative_valence", p, a, b, b - a, v, f"{p}: negative valence (mean {v:+.2f}) for {b - a:.0f} s"))
    for r in students.itertuples():
        if r.role != "student" or np.isnan(r.first_seen):
            continue
        seen = np.sort(np.unique(np.floor(timeline.loc[timeline.person == r.person].query("visible")["t"])))
        edges = list(zip(seen[:-1], seen[1:]))
        if duration is not None and len(seen):
            edges = [(-1.0, seen[0])] + edges + [(seen[-1], float(np.floor(duration)))]
        for a, b in edges:
            gap = b - a - 1
            if gap >= c.absent_seconds:
                rows.append(("absent", r.person, a + 1, b, gap, gap, f"{r.person}: not visible for {gap:.0f} s"))
    from .summary import class_over_time

    if len(timeline):
        cot = class_over_time(timeline, students, window=c.window)
        if len(cot) > 4 * c.window // 2:
            base = cot["arousal"].iloc[: max(1, len(cot) // 4)].mean()
            low = cot["arousal"].to_numpy() < c.engagement_drop * base
            for a, b in _runs(low, cot["t"].to_numpy()):
                if b - a >= 10:
                    rows.append(("engagement_drop", "class", a, b, b - a, float(cot[(cot.t >= a) & (cot.t < b)]["arousal"].mean()),
                                 f"class engagement fell below {c.engagement_drop:.0%} of its opening level for {b - a:.0f} s"))
    out = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    return out.sort_values(["start", "kind"]).reset_index(drop=True)
