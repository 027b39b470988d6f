"""Many recordings at once: progress, resume (skip what is done), failures isolated per file.

``emolab analyze lessons/*.mp4 --out reports/`` runs :func:`analyze_many`. Each recording's
results go to ``reports/<name>/``; a folder whose ``analysis.json`` records the same input file
(size and modification time) and settings is skipped, so an interrupted batch resumes. A
recording that fails (corrupt file, no faces, ...) is reported and the batch goes on. With
``ray_address`` the recordings are spread over a Ray cluster (``"local"`` starts one here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import EmolabError


def _fingerprint(video: Path, settings: dict) -> dict:
    st = video.stat()
    return {"video": str(video.resolve()), "size": st.st_size, "mtime": int(st.st_mtime), "settings": settings}


def _is_done(out: Path, fp: dict) -> bool:
    f = out / "analysis.json"
    if not f.is_file():
        return False
    try:
        return json.loads(f.read_text()).get("fingerprint") == fp
    except (json.JSONDecodeError, OSError):
        return False


def _analyze_one(video: str, out: str, transcript: str | None, settings: dict, fp: dict) -> dict:
    from ..atomic import write_text
    from .analysis import AnalysisConfig, analyze_lesson

    try:
        res = analyze_lesson(video, transcript=transcript, config=AnalysisConfig(**settings), out=out, progress=False)
        meta = json.loads((Path(out) / "analysis.json").read_text())
        meta["fingerprint"] = fp
        write_text(Path(out) / "analysis.json", json.dumps(meta, indent=2, default=str) + "\n")
        return {"video": video, "out": out, "status": "done", "people": int(res.info["n_people"])}
    except EmolabError as exc:
        return {"video": video, "out": out, "status": "failed", "error": str(exc)}
    except Exception as exc:  # isolate any other failure to its recording, with its type named
        return {"video": video, "out": out, "status": "failed", "error": f"{exc.__class__.__name__}: {exc}"}


def analyze_many(videos: list[str | os.PathLike], out: str | os.PathLike, transcript: str | None = None, force: bool = False,
                 progress: bool = True, ray_address: str | None = None, **settings: Any) -> list[dict]:
    """Analyse recordings into ``out`` (one sub-folder each when several); returns one status per recording."""
    from tqdm.auto import tqdm

    out = Path(out)
    videos = [Path(v) for v in videos]
    if transcript and len(videos) > 1:
        raise EmolabError("--transcript applies to a single recording; put each transcript beside its video instead")
    jobs, results = [], []
    names = [v.stem if v.is_file() else v.name for v in videos]
    for v, name in zip(videos, names):
        target = out if len(videos) == 1 else out / name
        if not v.exists():
            results.append({"video": str(v), "out": str(target), "status": "failed", "error": f"{v}: no such file or folder"})
            continue
        vf = v if v.is_file() else next((p for p in v.iterdir() if p.suffix.lower() in (".mp4", ".avi", ".mkv", ".mov", ".webm")), v)
        fp = _fingerprint(vf, settings) if vf.is_file() else {"video": str(v)}
        if not force and _is_done(target, fp):
            results.append({"video": str(v), "out": str(target), "status": "skipped"})
            continue
        jobs.append((str(v), str(target), transcript, settings, fp))
    if ray_address and jobs:
        import ray

        ray.init(address=None if ray_address == "local" else ray_address, include_dashboard=False, ignore_reinit_error=True,
                 log_to_driver=False)
        remote = ray.remote(_analyze_one)
        refs = [remote.remote(*j) for j in jobs]
        for ref in tqdm(refs, desc="recordings", unit="video", disable=not progress):
            results.append(ray.get(ref))
    else:
        for j in tqdm(jobs, desc="recordings", unit="video", disable=not progress or len(jobs) < 2):
            results.append(_analyze_one(*j))
    return results
