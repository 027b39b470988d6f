"""Many recordings at once: one folder each, an index, resume by content, failures isolated per file.

``emolab analyze mon/lesson.mp4 tue/lesson.mp4 --out reports/`` runs :func:`analyze_many`. Each
recording gets its own folder, named readably and made unique: the file's name (``lesson``), and
where two recordings share it, the folders that tell them apart (``mon-lesson``, ``tue-lesson``);
a folder that holds another recording's analysis is never reused (``-2``, ``-3``, ... are added).
``reports/index.csv`` maps each recording to its folder (see :data:`INDEX_COLUMNS`).

A re-run resumes by the recordings' content, not their names: a recording whose content hash is
in the index (or in a folder's ``analysis.json``) goes back to its folder, and is skipped when that
folder holds a complete analysis of the same content with the same settings and transcript. A
recording that fails (corrupt file, no faces, ...) is reported and the batch goes on. With
``ray_address`` the recordings are spread over a Ray cluster (``"local"`` starts one here).

A single recording is written straight into ``out`` (no sub-folder, no index).
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from ..errors import EmolabError

INDEX = "index.csv"
INDEX_COLUMNS = ("recording", "folder", "video_blake2b", "status")
"""Columns of ``index.csv``: the recording's path below the batch's common folder (never absolute),
its output folder (relative to the output root), the BLAKE2b hash of its video's content, and the
last run's status (``done``, ``skipped``, ``failed``, or ``planned`` while a batch runs)."""


def recording_identity(video: str | os.PathLike, transcript: str | os.PathLike | None, settings: dict) -> dict:
    """What makes two analyses the same: the content of the video and transcript, and the settings.

    Parameters
    ----------
    video : path
        The video file (not a lesson folder).
    transcript : path, optional
        The transcript the analysis reads, if any.
    settings : dict
        :class:`~emolab.timeline.AnalysisConfig` overrides; a ``model`` that is a file is recorded by
        its name and content hash, never by its path.

    Returns
    -------
    dict
        JSON-able: ``video_blake2b``, ``transcript_blake2b`` (``""`` without one) and ``settings``.
    """
    from ..cache import file_hash

    settings = dict(settings)
    model = settings.get("model")
    if isinstance(model, (str, os.PathLike)) and Path(model).is_file():
        settings["model"] = {"name": Path(model).name, "blake2b": file_hash(model)}
    return {"video_blake2b": file_hash(video), "transcript_blake2b": file_hash(transcript) if transcript else "", "settings": settings}


def _recorded_identity(folder: Path) -> dict | None:
    """The identity a folder's complete analysis was made from (None: no complete analysis there)."""
    try:
        return json.loads((folder / "analysis.json").read_text()).get("fingerprint")
    except (json.JSONDecodeError, OSError):
        return None


def _read_index(out: Path) -> list[dict]:
    import pandas as pd

    f = out / INDEX
    if not f.is_file():
        return []
    try:
        return pd.read_csv(f, dtype=str, keep_default_na=False).to_dict("records")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return []


def _write_index(out: Path, rows: list[dict]) -> None:
    import pandas as pd

    from ..atomic import write_csv

    write_csv(out / INDEX, pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).sort_values("folder"))


def readable_names(recordings: list[Path]) -> list[str]:
    """A folder name for each recording: its name, or where names clash, with the folders that differ.

    Parameters
    ----------
    recordings : list of Path
        Video files or lesson folders, all different.

    Returns
    -------
    list of str
        ``lesson`` for ``mon/lesson.mp4`` alone; ``mon-lesson`` and ``tue-lesson`` for
        ``mon/lesson.mp4`` and ``tue/lesson.mp4``. Names can still clash (``lesson.mp4`` beside
        ``lesson.mkv``); :func:`analyze_many` makes them unique.
    """
    parts = relative_parts(recordings)
    names = [p[-1] for p in parts]
    depth = 1
    while len(set(names)) < len(names) and depth < max(len(p) for p in parts):
        depth += 1
        clash = {n for n in names if names.count(n) > 1}
        names = ["-".join(p[-depth:]) if n in clash else n for p, n in zip(parts, names)]
    return names


def relative_parts(recordings: list[Path]) -> list[tuple[str, ...]]:
    """Each recording's path parts below the recordings' common folder, a file's suffix dropped.

    >>> relative_parts([Path("/a/mon/lesson.mp4"), Path("/a/tue/lesson.mp4")])  # doctest: +SKIP
    [('mon', 'lesson'), ('tue', 'lesson')]
    """
    if not recordings:
        return []
    resolved = [r.resolve() for r in recordings]
    common = Path(os.path.commonpath([r.parent for r in resolved]))
    rel = [r.relative_to(common).parts for r in resolved]
    return [(*p[:-1], Path(p[-1]).stem if r.is_file() else p[-1]) for p, r in zip(rel, recordings)]


def _analyze_one(video: str, out: str, transcript: str | None, settings: dict, identity: dict) -> dict:
    from ..atomic import write_text
    from .analysis import AnalysisConfig, analyze_lesson

    try:
        res = analyze_lesson(video, transcript=transcript, config=AnalysisConfig(**settings), out=out, progress=False)
        meta = json.loads((Path(out) / "analysis.json").read_text())
        meta["fingerprint"] = identity
        write_text(Path(out) / "analysis.json", json.dumps(meta, indent=2, default=str) + "\n")
        return {"video": video, "out": out, "status": "done", "people": int(res.info["n_people"])}
    except EmolabError as exc:
        return {"video": video, "out": out, "status": "failed", "error": str(exc)}
    except Exception as exc:  # isolate any other failure to its recording, with its type named
        return {"video": video, "out": out, "status": "failed", "error": f"{exc.__class__.__name__}: {exc}"}


def analyze_many(videos: list[str | os.PathLike], out: str | os.PathLike, *, transcript: str | os.PathLike | None = None,
                 force: bool = False, progress: bool = True, ray_address: str | None = None, **settings: Any) -> list[dict]:
    """Analyse recordings into ``out``, one folder each when several, resuming what is done.

    Parameters
    ----------
    videos : list of path
        Video files or lesson folders (a folder's video, audio and transcript are found as in
        :func:`emolab.data.find_lesson_files`). A path given twice is analysed once.
    out : path
        Output root: the analysis itself for one recording; for several, one folder per recording
        and ``index.csv`` (see the module docstring).
    transcript : path, optional
        SRT/VTT/CSV transcript; single recording only.
    force : bool
        Re-analyse recordings whose results already exist.
    progress : bool
        A progress bar over the recordings.
    ray_address : str, optional
        Spread the recordings over a Ray cluster at this address (``"local"``: start one here).
    **settings
        :class:`~emolab.timeline.AnalysisConfig` overrides (``model``, ``sample_fps``, ...).

    Returns
    -------
    list of dict
        One per recording, in the given order: ``video`` (as given), ``out`` (its folder),
        ``status`` (``done``, ``skipped`` or ``failed``), and ``error`` when failed.
    """
    from tqdm.auto import tqdm

    from ..data.corpora.lesson import find_lesson_files

    out = Path(out)
    videos = list({Path(v).resolve(): Path(v) for v in videos}.values())
    if transcript and len(videos) > 1:
        raise EmolabError("--transcript applies to a single recording; put each transcript beside its video instead")
    single = len(videos) == 1
    present = [v for v in videos if v.exists()]
    names = dict(zip(present, readable_names(present)))
    below = dict(zip(present, relative_parts(present)))
    index = {} if single else {r["video_blake2b"]: r for r in _read_index(out)}
    taken = {r["folder"] for r in index.values()}
    jobs, results, rows = [], {}, {}
    for v in videos:
        try:
            files = find_lesson_files(v)
            tr = transcript if transcript else (files.transcript if settings.get("use_transcript", True) else None)
            identity = recording_identity(files.video, tr, settings)
        except (EmolabError, OSError) as exc:
            results[v] = {"video": str(v), "out": str(out if single else out / names.get(v, v.stem)), "status": "failed",
                          "error": str(exc) if isinstance(exc, EmolabError) else f"{v}: {exc.strerror}"}
            continue
        if single:
            target = out
        else:
            known = index.get(identity["video_blake2b"])
            folder = known["folder"] if known else _free_folder(out, names[v], identity, taken)
            taken.add(folder)
            target = out / folder
            rows[v] = {"recording": "/".join((*below[v][:-1], v.name)), "folder": folder, "video_blake2b": identity["video_blake2b"], "status": "planned"}
        if not force and _recorded_identity(target) == identity:
            results[v] = {"video": str(v), "out": str(target), "status": "skipped"}
        else:
            jobs.append((str(v), str(target), str(transcript) if transcript else None, settings, identity))
    if rows:
        _write_index(out, _merged(index, list(rows.values())))
    if ray_address and jobs:
        import ray

        ray.init(address=None if ray_address == "local" else ray_address, include_dashboard=False, ignore_reinit_error=True,
                 log_to_driver=False)
        remote = ray.remote(_analyze_one)
        refs = [remote.remote(*j) for j in jobs]
        for j, ref in zip(jobs, tqdm(refs, desc="recordings", unit="video", disable=not progress)):
            results[Path(j[0])] = ray.get(ref)
    else:
        for j in tqdm(jobs, desc="recordings", unit="video", disable=not progress or len(jobs) < 2):
            results[Path(j[0])] = _analyze_one(*j)
    if rows:
        _write_index(out, _merged(index, [{**row, "status": results[v]["status"]} for v, row in rows.items()]))
    return [results[v] for v in videos]


def _free_folder(out: Path, name: str, identity: dict, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``, ...: the first not given to another recording of this batch or
    the index, and either absent, empty, or holding an analysis of this very recording."""
    for k in itertools.count(1):
        candidate = name if k == 1 else f"{name}-{k}"
        if candidate in taken:
            continue
        folder, held = out / candidate, _recorded_identity(out / candidate)
        if held is None and (not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))):
            return candidate
        if held is not None and held.get("video_blake2b") == identity["video_blake2b"]:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _merged(index: dict[str, dict], rows: list[dict]) -> list[dict]:
    """This batch's rows, and the earlier index's rows of recordings not in this batch."""
    mine = {r["video_blake2b"] for r in rows}
    return rows + [r for h, r in index.items() if h not in mine]
