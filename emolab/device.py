"""Device choice and reproducible seeding.

emolab runs everywhere: it picks CUDA when a GPU is present, then Apple's MPS, else the CPU.
The ``EMOLAB_DEVICE`` environment variable or an explicit argument overrides the choice.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=None)
def bf16_rnn_supported(device_type: str = "cpu") -> bool:
    """Whether recurrent layers (LSTM, GRU) can run in bfloat16 under autocast on ``device_type``.

    On CUDA they can. On a CPU it depends on the instruction set: PyTorch's oneDNN kernels need AVX-512 (BF16);
    on an AVX2-only CPU a bf16 LSTM fails with "could not create a primitive descriptor". Answered once per
    process by running a two-unit LSTM in bf16."""
    if device_type != "cpu":
        return device_type == "cuda"
    import torch

    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LSTM(2, 2, batch_first=True)(torch.zeros(1, 2, 2))
        return True
    except RuntimeError:
        return False


def run_rnn(rnn, x, *args):
    """``rnn(x, *args)`` in the caller's precision (bf16 under CPU autocast), or in float32 where this device has no
    bf16 kernels for recurrent layers (:func:`bf16_rnn_supported`): never a failure for lack of them.

    ``x``: a tensor or a ``PackedSequence``."""
    import torch

    device_type = (x.data if hasattr(x, "batch_sizes") else x).device.type
    if bf16_rnn_supported(device_type) or not torch.is_autocast_enabled(device_type):
        return rnn(x, *args)
    with torch.autocast(device_type, enabled=False):
        return rnn(x.float(), *args)
