"""Shared helpers of the benchmark scripts: machine description, timing, peak memory, JSON output."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": date.today().isoformat(), "cpus": os.cpu_count(), "cpu": cpu, "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "cuda": torch.cuda.is_available()}


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and finished children) in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


@contextmanager
def timer(store: dict, key: str):
    t = time.perf_counter()
    yield
    store[key] = round(time.perf_counter() - t, 3)


def save(name: str, payload: dict) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    from emolab.atomic import write_text

    write_text(path, json.dumps({"machine": machine(), **payload}, indent=2, default=str) + "\n")  # a stopped run leaves the old file whole
    print(f"wrote {path}")
    return path
