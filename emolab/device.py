"""Device choice and reproducible seeding.

emolab runs everywhere: it picks CUDA when a GPU is present, then Apple's MPS, else the CPU.
The ``EMOLAB_DEVICE`` environment variable or an explicit argument overrides the choice.
"""

from __future__ import annotations

import os
import random
from typing import Optional

import numpy as np


def choose_device(prefer: Optional[str] = None) -> str:
    """Name of the torch device to compute on.

    Parameters
    ----------
    prefer : str, optional
        ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"`` or ``"auto"``/None. Falls back to the
        environment variable ``EMOLAB_DEVICE``, then to automatic choice.

    Returns
    -------
    str
        A device string torch accepts. A requested device that is not available raises.
    """
    import torch

    choice = prefer or os.environ.get("EMOLAB_DEVICE") or "auto"
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        from .errors import EmolabError

        raise EmolabError(f"device {choice!r} was requested but no CUDA GPU is available", hint="use 'cpu' or 'auto'")
    return choice


def seed_everything(seed: int = 0, deterministic: bool = False) -> np.random.Generator:
    """Seed Python, numpy and (if imported) torch; return a numpy Generator on the same seed.

    Parameters
    ----------
    seed : int
        The seed.
    deterministic : bool
        Also ask torch for deterministic kernels (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    import sys

    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)
