"""Per-step training time of each model at its default size, and SMOTE time versus rows (2 CPU cores)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import save  # noqa: E402


def step_time(model, batch, y, precision: str, n: int = 5) -> float:
    import torch

    from emolab.training import resolve_precision

    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    dtype = resolve_precision(precision, "cpu")

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = torch.nn.functional.cross_entropy(model(batch).float(), y)
        loss.backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(n):
        step()
    return round(1000 * (time.perf_counter() - t) / n, 1)


def main() -> None:
    import numpy as np
    import torch

    from emolab.balancing import Balancer
    from emolab.models import build_model

    torch.manual_seed(0)
    B = 32
    cases = {
        "face2d (48px, batch 32)": ("face2d", {}, torch.rand(B, 1, 48, 48)),
        "face3d (16x96x96, batch 8)": ("face3d", {}, torch.rand(8, 1, 16, 96, 96)),
        "cnn_lstm (16x48x48, batch 8)": ("cnn_lstm", {}, torch.rand(8, 1, 16, 48, 48)),
        "speech (60x301 MFCC, batch 32)": ("speech", {}, torch.randn(B, 1, 60, 301)),
        "text (50 tokens, batch 32)": ("text", {}, torch.randint(1, 5000, (B, 50))),
        "fused (8x48x48 + 60x161 + 24 tokens, batch 32)": ("fused", {}, {"face": torch.rand(B, 1, 8, 48, 48), "speech": torch.randn(B, 1, 60, 161),
                                                                          "text": torch.randint(1, 5000, (B, 24))}),
    }
    rows = []
    for name, (kind, cfg, x) in cases.items():
        m = build_model(kind, **cfg)
        y = torch.randint(0, 7, (len(next(iter(x.values()))) if isinstance(x, dict) else len(x),))
        rec = {"model": name, "params": sum(p.numel() for p in m.parameters()), "fp32_ms": step_time(m, x, y, "fp32"),
               "auto_ms": step_time(m, x, y, "auto")}
        rec["speedup_auto"] = round(rec["fp32_ms"] / rec["auto_ms"], 2)
        rows.append(rec)
        print(rec)
    smote = []
    rng = np.random.default_rng(0)
    for n in (5000, 20000, 50000):
        X = rng.normal(0, 1, (n, 512)).astype(np.float32)
        y = rng.choice(7, n, p=[0.3, 0.05, 0.1, 0.25, 0.15, 0.1, 0.05])
        t = time.perf_counter()
        Balancer(target="max").fit_resample(X, y)
        smote.append({"rows": n, "features": 512, "seconds": round(time.perf_counter() - t, 2)})
        print(smote[-1])
    save("training", {"steps": rows, "smote": smote})


if __name__ == "__main__":
    main()
