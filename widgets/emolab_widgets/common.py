"""Small building blocks shared by the widgets: offline charts, images, device badge, progress, notebook setup."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import ipywidgets as W
import numpy as np


def chart_widget(chart=None, placeholder: str = "") -> W.HTML:
    """An HTML widget showing an Altair chart as inline SVG (rendered offline by vl-convert)."""
    w = W.HTML(value=placeholder)
    if chart is not None:
        set_chart(w, chart)
    return w


def set_chart(widget: W.HTML, chart) -> None:
    """Replace the chart an HTML widget shows."""
    from emolab.timeline.charts import to_svg

    widget.value = f"<div class='emolab-chart'>{to_svg(chart)}</div>"


def image_widget(rgb: np.ndarray | None = None, width: int = 640) -> W.Image:
    w = W.Image(format="png", layout=W.Layout(width=f"{width}px"))
    if rgb is not None:
        set_image(w, rgb)
    return w


def set_image(widget: W.Image, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    widget.value = buf.tobytes() if ok else b""


def device_badge() -> W.HTML:
    """Which device computations run on (CUDA GPU when present)."""
    from emolab.device import choose_device

    dev = choose_device()
    colour = "#2ca02c" if dev.startswith("cuda") else "#666"
    return W.HTML(f"<span style='background:{colour};color:white;padding:2px 8px;border-radius:10px;font-size:85%'>device: {dev}</span>")


def setup_notebook(data: str | os.PathLike | None = None, work: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The first cell of every tutorial notebook: where the corpora are, where to write, and the device.

    Shows the device badge (see :func:`device_badge`). Warnings are left as they are: emolab's own say
    something about your data (a skipped file, a missing audio track), so a notebook shows them.

    Parameters
    ----------
    data : path, optional
        Folder of the real corpora. Default: ``$EMOLAB_DATA``, else ``../../shared/data`` (beside
        the repository). It may not exist (e.g. on Binder): notebooks check before they read it.
    work : path, optional
        Folder the notebooks write to, created. Default: ``$EMOLAB_WORK``, else ``../data/generated/notebooks``.

    Returns
    -------
    data, work : pathlib.Path, pathlib.Path
    """
    from IPython.display import display

    data = Path(data or os.environ.get("EMOLAB_DATA", "../../shared/data"))
    work = Path(work or os.environ.get("EMOLAB_WORK", "../data/generated/notebooks"))
    work.mkdir(parents=True, exist_ok=True)
    display(device_badge())
    return data, work


def download_link(data: bytes, filename: str, label: str, mime: str = "text/html") -> W.HTML:
    """A link that downloads ``data`` from the browser (works under Voila, no server round trip)."""
    b64 = base64.b64encode(data).decode()
    return W.HTML(f"<a download='{filename}' href='data:{mime};base64,{b64}' class='emolab-download' "
                  f"style='padding:4px 10px;border:1px solid #888;border-radius:4px;text-decoration:none'>{label}</a>")


def table_html(df, max_rows: int = 20) -> str:
    return df.head(max_rows).to_html(index=False, border=0, float_format=lambda v: f"{v:.2f}", classes="emolab-table")


class Progress:
    """A progress bar widget usable as ``callback(stage, fraction)`` by emolab's long operations."""

    def __init__(self, description: str = ""):
        self.bar = W.FloatProgress(value=0.0, min=0.0, max=1.0, description=description, layout=W.Layout(width="60%"))
        self.label = W.Label("")
        self.widget = W.HBox([self.bar, self.label])

    def __call__(self, stage: str, fraction: float) -> None:
        self.bar.value = float(fraction)
        self.label.value = f"{stage} {fraction:.0%}"
